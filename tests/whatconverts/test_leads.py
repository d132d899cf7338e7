"""Lead parsing: the official samples and every quirk the API is known for."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.whatconverts.leads import Lead

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatconverts"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_phone_call_sample() -> None:
    (lead,) = [Lead.from_api(item) for item in fixture("leads_page_phone_call.json")["leads"]]
    assert lead.lead_type == "phone_call"
    assert lead.call_duration_seconds == 13
    assert lead.recording_url and lead.recording_url.endswith("/play")
    assert lead.quote_value is None and lead.quotable == "not_set"
    assert lead.additional_fields == {}  # the API's [] for an empty object
    assert lead.date_created is not None and lead.date_created.tzinfo == UTC


def test_mixed_sample_uses_form_fields_for_contacts() -> None:
    leads = [Lead.from_api(item) for item in fixture("leads_page_mixed.json")["leads"]]
    assert [lead.lead_type for lead in leads] == ["web_form", "phone_call", "web_form"]
    assert [lead.status for lead in leads] == ["repeat", "repeat", "unique"]
    assert leads[0].contact_name == "John Doe"  # from "Name:" with its trailing colon
    assert leads[0].contact_email == "John@Doe.com"
    assert leads[2].contact_name == "Great Lead" and leads[2].keyword == "great keyword"
    assert leads[1].content is None


def test_webhook_chat_sample() -> None:
    lead = Lead.from_api(fixture("webhook_chat_new.json"))
    assert lead.lead_type == "chat" and lead.is_complete
    assert lead.contact_name == "Jeremy Helms" and lead.contact_phone == "+17044695324"
    assert lead.summary and lead.summary.startswith("The customer was looking")
    assert lead.message == "Hello, I like your service!"
    assert (lead.account_id, lead.profile_id) == (27313, 51497)


def test_webhook_transaction_sample_is_never_in_progress() -> None:
    """The official transaction sample says "In Progess" (sic); a transaction never completes later."""
    lead = Lead.from_api(fixture("webhook_transaction_new.json"))
    assert lead.lead_type == "transaction" and lead.is_complete and lead.state == "completed"


def test_custom_event_is_an_event() -> None:
    lead = Lead.from_api(fixture("webhook_custom_event_new.json"))
    assert lead.lead_type == "event"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"lead_type": "Chat", "lead_state": "In Progess"}, {"state": "in_progress"}),
        ({"lead_type": "Phone Call", "lead_state": "In Progress"}, {"state": "in_progress"}),
        ({"lead_type": "Phone Call", "lead_state": "Completed"}, {"state": "completed"}),
        # Only calls and chats progress (W8): any other type is final whatever its lead_state says.
        ({"lead_type": "Transaction", "lead_state": "In Progess"}, {"state": "completed"}),
        ({"lead_type": "Web Form", "lead_state": "In Progress"}, {"state": "completed"}),
        ({"lead_state": "In Progess"}, {"state": "completed"}),
        ({"lead_type": "Custom Event"}, {"lead_type": "event"}),
        ({"lead_type": "Event"}, {"lead_type": "event"}),
        ({"lead_type": "Text Message"}, {"lead_type": "text_message"}),
        ({"lead_type": "Something New"}, {"lead_type": "other"}),
        ({"lead_type": None}, {"lead_type": "other"}),
        ({"quote_value": "1,200.50"}, {"quote_value": Decimal("1200.50")}),
        ({"quote_value": "n/a", "sales_value": []}, {"quote_value": None, "sales_value": None}),
        ({"spam": "true", "duplicate": 0}, {"spam": True, "duplicate": False}),
        ({"lead_analysis": []}, {"summary": None}),
        ({"mapped_fields": {"E-mail": "x@y.z"}}, {"contact_email": "x@y.z"}),
        ({"additional_fields": {"Phone Number*": "555"}}, {"contact_phone": "555"}),
        ({"additional_fields": {"First Name": "Ada", "Last Name": "L"}}, {"contact_name": "Ada L"}),
        ({"caller_name": "Bob", "caller_number": "+1555"}, {"contact_name": "Bob", "contact_phone": "+1555"}),
        ({"date_created": "2025-05-28 19:19:51"}, {"date_created": datetime(2025, 5, 28, 19, 19, 51, tzinfo=UTC)}),
        ({"date_created": "yesterday"}, {"date_created": None}),
        ({"lead_source": "  ", "account": 12}, {"source": None, "account": "12"}),
    ],
)
def test_quirks(data: dict, expected: dict) -> None:
    lead = Lead.from_api({"lead_id": 1, **data})
    assert {k: getattr(lead, k) for k in expected} == expected


@pytest.mark.parametrize("lead_id", [None, "", "abc", 0, -3, [], {}])
def test_a_lead_needs_an_id(lead_id: object) -> None:
    with pytest.raises(ValueError, match="lead_id"):
        Lead.from_api({"lead_id": lead_id})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(list(fixture("webhook_chat_new.json"))), json_values, max_size=12))
def test_any_json_parses_or_is_refused_cleanly(data: dict) -> None:
    try:
        lead = Lead.from_api(data)
    except ValueError:
        return
    assert lead.lead_id > 0 and lead.lead_type
