"""Poison leads (platform truth W10): one odd field costs that field, never the lead, the poll or the batch.

A table of hostile field values goes through the parser, the card builder, the filters and the
change lines, then through a real poll and real concurrent webhooks mixed with valid leads:
every valid lead is delivered, the odd ones too (without the odd field), nothing answers 500,
and each odd lead is recorded once in the problem list and the metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import update
from starlette.applications import Starlette

from bot.alerts import changes, filters
from bot.alerts.cards import lead_card
from bot.alerts.poller import Poller
from bot.alerts.routing import MAX_LEAD_ID
from bot.config import Settings
from bot.whatconverts import json_bodies
from bot.whatconverts.leads import Lead
from storage.db import transaction
from storage.models import PollState, Subscription
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import connect_key, local
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.outbox import cards_in, rows, subscribed, unpaced, utc
from tests.support.settings import make_settings

__all__ = ["subscribed"]  # a fixture, used by name

DEEP = [[[[["five deep"]]]]]
# (field, value, whether the parser must call it unreadable): absurd numbers, dates, the wrong
# shapes, booleans for numbers, and values that look odd but are readable (or the API's "nothing").
HOSTILE: list[tuple[str, Any, bool]] = [
    ("quote_value", "1e999999999999999999", True),
    ("sales_value", "-1e999999999", True),
    ("quote_value", "NaN", True),
    ("sales_value", "Infinity", True),
    ("quote_value", "1e-999999999", True),
    ("quote_value", True, True),
    ("lead_score", "1e999999999999999999", True),
    ("call_duration_seconds", -30, True),
    ("call_duration_seconds", False, True),
    ("date_created", "0001-01-01T00:00:00+05:00", True),
    ("date_created", "9999-12-31T23:59:59-05:00", True),
    ("date_created", "not a date", True),
    ("date_created", 1748459991, True),
    ("last_updated", 1.5e9, True),
    ("last_updated", "0001-01-01T00:00:00+05:00", True),
    ("contact_name", {"first": "Ada"}, True),
    ("contact_email_address", DEEP, True),
    ("lead_source", ["google"], True),
    ("lead_type", {"name": "Phone Call"}, True),
    ("lead_status", 7, True),
    ("additional_fields", DEEP, True),
    ("lead_analysis", "a summary where an object belongs", True),
    ("spam", "sometimes", True),
    ("account_id", "NaN", True),
    ("profile", {"x": {"y": {"z": []}}}, True),
    ("message", "x" * 100_000, False),  # very long, but text: the card cuts it
    ("contact_name", "\u202e" + "A" * 5_000, False),
    ("date_created", "", False),  # the API's "nothing"
    ("quote_value", None, False),
    ("lead_analysis", [], False),
    ("additional_fields", {"Name": DEEP, "Email": {"a": 1}}, False),  # form fields are looked up, not read
]
CHANNELS = {"main": "C1", "agency": "C2"}
IDS = [f"{field}={json.dumps(value)[:30]}" for field, value, _ in HOSTILE]
NOW = datetime(2025, 5, 28, 19, 19, 51, tzinfo=UTC)
BASE = {
    "lead_id": 5000,
    "lead_type": "Phone Call",
    "lead_state": "Completed",
    "lead_status": "Unique",
    "date_created": "2025-05-28T19:19:51Z",
    "last_updated": "2025-05-28T19:19:51Z",
    "quote_value": "100",
    "lead_source": "google",
    "contact_name": "Base Caller",
    "call_duration_seconds": 60,
}
RULES = filters.Filters(include=frozenset({("source", "google")}), exclude=frozenset({("campaign", "spring")}))


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    """The app under test on each database engine (PostgreSQL when TEST_POSTGRES_URL is set)."""
    return make_settings(database_url, fake_slack, fake_wc)


def accepted_by_slack(card: dict) -> bool:
    assert card["text"] and 0 < len(card["blocks"]) <= 50
    for raw in card["blocks"]:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()  # raises SlackObjectFormationError on anything Slack would refuse
    return True


# --------------------------------------------------------------------------- the parser and builders


@pytest.mark.parametrize(("field", "value", "odd"), HOSTILE, ids=IDS)
def test_a_hostile_field_costs_only_that_field(field: str, value: Any, odd: bool) -> None:
    base = Lead.from_api(BASE)

    lead = Lead.from_api({**BASE, field: value})

    assert lead.unreadable == ((field,) if odd else ())
    assert lead.lead_id == 5000 and lead.source in ("google", None)
    for compact in (False, True):
        assert accepted_by_slack(lead_card(lead, compact=compact, actions=True))
    assert isinstance(filters.matches(RULES, lead), bool)
    assert isinstance(changes.describe(base, lead), list) and isinstance(changes.describe(lead, base), list)
    json.dumps(lead.raw, default=str)  # what the outbox stores


def test_unusable_lead_ids_are_refused_cleanly() -> None:
    for lead_id in ("1e999999999999999999", "NaN", 12.5, True, [1], {"id": 1}, -1, None):
        with pytest.raises(ValueError, match="lead_id"):
            Lead.from_api({**BASE, "lead_id": lead_id})


def test_keys_that_are_not_strings_are_left_out() -> None:
    lead = Lead.from_api({**BASE, 7: "seven", ("a",): 1, "additional_fields": {1: "x", "E-mail": "a@b.example"}})

    assert lead.contact_email == "a@b.example" and lead.unreadable == ()
    assert json.loads(json.dumps(lead.raw))["lead_id"] == 5000
    assert accepted_by_slack(lead_card(lead))


def test_builders_cope_with_absurd_values_however_the_lead_was_made() -> None:
    base = Lead.from_api(BASE)
    absurd = dataclasses.replace(
        base,
        state="in_progress",
        quote_value=Decimal("1E+999999999999999999"),
        sales_value=Decimal("NaN"),
        date_created=datetime(1, 1, 1, tzinfo=UTC),
        last_updated=datetime(9999, 12, 31, tzinfo=UTC),
        call_duration_seconds=10**30,
    )

    tiny = dataclasses.replace(absurd, quote_value=Decimal("-1E-999999999"), date_created=NOW)
    for lead, date in ((absurd, None), (tiny, "<!date^1748459991^")):
        for compact in (False, True):
            card = lead_card(lead, compact=compact, actions=True)
            assert accepted_by_slack(card)
            if not compact:  # a year-1 date is not shown at all
                assert (date in json.dumps(card)) if date else ("<!date" not in json.dumps(card))
        assert filters.matches(RULES, lead)
    lines = changes.describe(absurd, dataclasses.replace(base, quote_value=Decimal("-1E-999999999")))
    assert "Call completed — 1m" in lines and "Quote value set to $0.00" in lines


def test_json_that_python_would_refuse_whole_is_read_field_by_field() -> None:
    body = b'{"lead_id": 7, "quote_value": ' + b"9" * 5000 + b', "contact_name": "Ada"}'

    lead = Lead.from_api(json_bodies.loads(body))

    assert (lead.lead_id, lead.contact_name, lead.quote_value, lead.unreadable) == (7, "Ada", None, ("quote_value",))
    with pytest.raises(ValueError, match="nested"):
        json_bodies.loads(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError, match="nested"):
        json_bodies.loads(json.dumps({"lead_id": 1, "x": DEEP}), max_depth=4)


# --------------------------------------------------------------------------- through a poll


def odd_leads(fake_wc: FakeWhatConverts) -> list[dict]:
    """One lead per row of HOSTILE, each a real lead of the fake with one field made hostile."""
    return [{**fake_wc.add_lead(contact_name=f"Odd {n}"), field: value} for n, (field, value, _) in enumerate(HOSTILE)]


def unusable(fake_wc: FakeWhatConverts) -> list[dict]:
    """Leads no card can be made for: no id, an absurd one, one too large to store."""
    return [
        {**fake_wc.add_lead(contact_name="No id"), "lead_id": None},
        {**fake_wc.add_lead(contact_name="Absurd id"), "lead_id": "1e999999999999999999"},
        {**fake_wc.add_lead(contact_name="Huge id"), "lead_id": MAX_LEAD_ID + 1},
    ]


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def page_of(leads: list[dict]) -> dict:
    return {"page_number": 1, "leads_per_page": 2500, "total_pages": 1, "total_leads": len(leads), "leads": leads}


def shown(fake: FakeSlack, channel: str) -> list[int]:
    """The lead id on each card in `channel` (from its context line)."""
    return [int(re.findall(r"Lead #(\d+)", json.dumps(m["blocks"]))[0]) for m in cards_in(fake, channel)]


def unreadable_metric(app: Starlette, field: str) -> float:
    value = app.state.services.metrics.registry.get_sample_value(
        "whatconverts_lead_fields_unreadable_total", {"field": field}
    )
    return value or 0.0


async def poll_now(app: Starlette) -> Any:
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(PollState).values(next_run_at=datetime.now(UTC)))
    return await Poller(app.state.services, owner="test-poller").tick()


async def test_a_poll_with_odd_leads_delivers_every_lead_and_moves_on(
    subscribed: None,
    app: Starlette,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    valid = [fake_wc.add_lead(contact_name=f"Caller {n}") for n in range(3)]
    odd, bad = odd_leads(fake_wc), unusable(fake_wc)
    page = page_of([valid[0], *odd[:10], bad[0], valid[1], *odd[10:], *bad[1:], valid[2]])
    fake_wc.fail_next("leads", 200, body=page)  # WhatConverts answers this page, as it is
    started = datetime.now(UTC).replace(microsecond=0)

    report = await poll_now(app)
    await unpaced(app).run(rounds=100)

    assert (report.polled, report.failed, report.enqueued) == (1, 0, len(valid) + len(odd))
    assert sorted(shown(fake_slack, "C1")) == sorted(lead["lead_id"] for lead in [*valid, *odd])
    (after,) = await rows(database_url, "poll_state")
    assert utc(after["cursor"]) >= started and after["failures"] == 0 and after["lease_owner"] is None
    problems = await rows(database_url, "problems")
    (label,) = [row["label"] for row in await rows(database_url, "connections")]
    told = {p["subject"]: p["message"] for p in problems if p["subject"].startswith("lead #")}
    rows_of = zip(odd, HOSTILE, strict=True)
    expected = {f"lead #{lead['lead_id']} from {label}": field for lead, (field, _, is_odd) in rows_of if is_odd}
    assert sorted(told) == sorted(expected)
    assert all(f"couldn't read ({field})" in told[subject] for subject, field in expected.items())
    assert [p["message"] for p in problems if p["subject"].startswith("connection")] == [
        "WhatConverts sent leads without a usable lead_id; they can't be tracked, so they were skipped."
    ]
    assert unreadable_metric(app, "date_created") == 4 and unreadable_metric(app, "quote_value") == 4
    assert "couldn't read (profile)" in json.dumps(await slack.ask("status"))

    # The lookback re-reads the same leads: nothing new is posted, edited or recorded.
    fake_wc.fail_next("leads", 200, body=page)
    posts = len(fake_slack.calls_to("chat.postMessage"))
    again = await poll_now(app)
    await unpaced(app).run(rounds=100)

    assert (again.failed, again.enqueued) == (0, 0)
    assert len(fake_slack.calls_to("chat.postMessage")) == posts and fake_slack.calls_to("chat.update") == []
    assert await rows(database_url, "problems") == problems
    assert unreadable_metric(app, "date_created") == 4


# --------------------------------------------------------------------------- through webhooks


async def test_concurrent_webhooks_with_poison_among_them_all_succeed(
    subscribed: None,
    app: Starlette,
    app_url: str,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    url = local((await slack.ask("webhook"))["text"].split("```")[1], app_url)
    valid = [fake_wc.webhook_payload(fake_wc.add_lead(contact_name=f"Caller {n}")) for n in range(20)]
    odd = [fake_wc.webhook_payload(lead) for lead in odd_leads(fake_wc)]
    undated = {k: v for k, v in fake_wc.webhook_payload(fake_wc.add_lead()).items() if k != "date_created"}
    refused = {
        b"[" * 50_000 + b"]" * 50_000: 400,  # nesting: refused before it is parsed into a recursion
        json.dumps({**valid[0], "lead_id": 991, "x": nested(40)}).encode(): 400,  # past MAX_DEPTH
        json.dumps({**valid[0], "lead_id": "1e999999999999999999"}).encode(): 422,
        json.dumps({**valid[0], "lead_id": MAX_LEAD_ID + 1}).encode(): 422,
        json.dumps({**valid[0], "lead_id": None}).encode(): 422,
    }
    bodies = [json.dumps(p).encode() for p in [*valid, *odd, undated]] + list(refused)
    bodies = bodies[::2] + bodies[1::2]  # poison interleaved with valid posts

    async with httpx.AsyncClient(headers={"content-type": "application/json"}, timeout=30) as http:
        answers = await asyncio.gather(*(http.post(url, content=body) for body in bodies))
    await unpaced(app).run(rounds=100)

    status = {body: answer.status_code for body, answer in zip(bodies, answers, strict=True)}
    assert 500 not in status.values()
    assert {status[body] for body in refused} == set(refused.values()) and all(
        status[body] == code for body, code in refused.items()
    )
    assert [status[json.dumps(p).encode()] for p in [*valid, *odd, undated]] == [200] * (len(valid) + len(odd) + 1)
    expected = [p["lead_id"] for p in [*valid, *odd, undated]]
    assert sorted(shown(fake_slack, "C1")) == sorted(expected)
    subjects = {p["subject"].split(" ")[1] for p in await rows(database_url, "problems")}
    assert subjects == {f"#{p['lead_id']}" for p, (_, _, odd_) in zip(odd, HOSTILE, strict=True) if odd_}


async def test_a_webhook_that_cant_be_stored_fails_no_other_in_its_batch(
    installed: None,
    app: Starlette,
    app_url: str,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")  # history: names the profile key's profile
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET, text="connect main")
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect agency")
    fake_slack.add_channel("T1", "C2", name="agency")
    await slack.ask("subscribe connection:main", channel_id="C1")
    await slack.ask("subscribe connection:agency", channel_id="C2")
    hooks = {label: local((await slack.ask(f"webhook {label}"))["text"].split("```")[1], app_url) for label in CHANNELS}
    async with transaction(app.state.services.sessions) as session:
        # A subscription row this version can't read (a newer release wrote it, then was rolled back):
        # writing `agency`'s leads raises ValueError, inside the batch, after every check has passed.
        await session.execute(
            update(Subscription).where(Subscription.channel_id == "C2").values(filters_json='{"v": 99}')
        )
    main = [fake_wc.webhook_payload(fake_wc.add_lead(contact_name=f"Main {n}")) for n in range(15)]
    agency = [fake_wc.webhook_payload(fake_wc.add_lead(profile_id=30001, contact_name=f"A {n}")) for n in range(3)]
    posts = [(hooks["main"], p) for p in main[:7]] + [(hooks["agency"], p) for p in agency]
    posts += [(hooks["main"], p) for p in main[7:]]

    async with httpx.AsyncClient(timeout=30) as http:
        answers = await asyncio.gather(*(http.post(url, json=payload) for url, payload in posts))
    await unpaced(app).run(rounds=100)

    codes = [answer.status_code for answer in answers]
    assert codes == [200] * 7 + [500] * 3 + [200] * 8
    assert sorted(shown(fake_slack, "C1")) == sorted(p["lead_id"] for p in main)
    assert cards_in(fake_slack, "C2") == []
    told = [p for p in await rows(database_url, "problems") if "couldn't be stored" in p["message"]]
    assert sorted(p["subject"] for p in told) == sorted(f"lead #{p['lead_id']} from agency" for p in agency)
