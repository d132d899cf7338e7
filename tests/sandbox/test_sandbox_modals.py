"""The sandbox's modals: drawn as live forms, read back into Slack's `view.state.values`, kept open by id.

The app's own modal builders and readers are the reference: a form filled on the page must read
back through `bot.home.modals` exactly as the same answers sent by Slack do.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.alerts import value_modal
from bot.home import modals
from bot.sandbox.render import Names
from bot.sandbox.view_render import view_to_html
from bot.sandbox.view_state import REQUIRED, required_errors, state_values, view_key
from bot.sandbox.workspace import SandboxSlack
from tests.support.html_tags import start_tags
from tests.support.payloads import fill

NAMES = Names(channels={"C0LEADS": "leads", "C0CALLS": "calls"}, users={"U1": "ada"})
CHANNELS, USERS = NAMES.channels, NAMES.users


def value_view(**kw: object) -> dict:
    args = {"lead_id": 7, "channel_id": "C0LEADS", "message_ts": "1.2", "quote_value": None, "sales_value": None}
    return {"id": "V1", "hash": "h1", **value_modal.value_modal(**{**args, **kw})}  # type: ignore[arg-type]


def subscription_view(**kw: object) -> dict:
    return {"id": "V2", "hash": "h2", **modals.subscription_modal(connections=[(1, "main-site")], **kw)}  # type: ignore[arg-type]


# --- drawing ---------------------------------------------------------------------------------------


def test_value_modal_is_a_form_with_its_labels_hints_and_values() -> None:
    out = view_to_html(value_view(quote_value=Decimal("1200.5")), names=NAMES)
    assert '<h2 class="slack-modal-title">Lead value</h2>' in out
    inputs = [a for t, a in start_tags(out) if t == "input"]
    assert [a["value"] for a in inputs] == ["1200.5", ""]
    assert {a["maxlength"] for a in inputs} == {str(value_modal.AMOUNT_CHARS)}
    controls = [a for t, a in start_tags(out) if a.get("class") == "slack-control"]
    assert [(c["data-block-id"], c["data-action-id"], c["data-type"]) for c in controls] == [
        (ids.BLOCK_VALUE_QUOTE, ids.ACTION_VALUE_QUOTE, "plain_text_input"),
        (ids.BLOCK_VALUE_SALES, ids.ACTION_VALUE_SALES, "plain_text_input"),
    ]
    assert 'Quote value (USD) <span class="slack-optional">(optional)</span>' in out
    assert "What you quoted, e.g. 1,200.50" in out
    buttons = [a for t, a in start_tags(out) if t == "button"]
    assert [b.get("data-modal") for b in buttons] == ["close", "close", "submit"]


def test_errors_show_under_their_input_and_the_rest_of_the_form_stays() -> None:
    out = view_to_html(value_view(), errors={ids.BLOCK_VALUE_SALES: "Use at most 2 decimal places."})
    assert out.count('class="slack-error"') == 1
    sales = out.index(f'data-block-id="{ids.BLOCK_VALUE_SALES}"')
    assert out.index("Use at most 2 decimal places.") > sales
    assert 'class="slack-input has-error"' in out
    banner = view_to_html(value_view(), errors={"": "We had some trouble connecting. Try again?"})
    assert 'class="slack-modal-problem"' in banner


def test_subscription_modal_offers_the_workspace_channels_and_checks_what_it_had() -> None:
    view = subscription_view(channel_id="C0CALLS", initial=modals.parse_subscription(["calls", "+compact"])[1])
    out = view_to_html(view, names=NAMES)
    options = [(a["value"], "selected" in a) for t, a in start_tags(out) if t == "option"]
    assert ("C0CALLS", True) in options and ("C0LEADS", False) in options
    assert "# calls" in out
    checked = {
        a["value"] for t, a in start_tags(out) if t == "input" and a.get("type") == "checkbox" and "checked" in a
    }
    assert checked == {"phone_call", "compact"}
    assert ("any", True) in options  # the status select shows its initial option


def test_a_hostile_view_stays_inert() -> None:
    evil = '"><script>alert(1)</script>'
    element = {"type": "static_select", "action_id": evil, "options": [{"text": {"type": "plain_text", "text": evil},
               "value": evil}], "placeholder": {"type": "plain_text", "text": evil}}  # fmt: skip
    view = {"id": evil, "title": {"type": "plain_text", "text": evil}, "submit": {"type": "plain_text", "text": evil},
            "blocks": [{"type": "input", "block_id": evil, "label": {"type": "plain_text", "text": evil},
                        "hint": {"type": "plain_text", "text": evil}, "element": element}]}  # fmt: skip
    out = view_to_html(view, errors={evil: evil})
    assert "<script" not in out
    control = next(a for t, a in start_tags(out) if a.get("class") == "slack-control")
    assert control["data-block-id"] == evil and control["data-action-id"] == evil
    assert next(a for t, a in start_tags(out) if t == "option" and a["value"])["value"] == evil


def test_elements_the_page_cannot_draw_are_named_not_guessed() -> None:
    view = {"blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "File"},
                        "element": {"type": "file_input", "action_id": "f"}}]}  # fmt: skip
    assert "(file_input is not shown in the sandbox)" in view_to_html(view)


# --- reading back ----------------------------------------------------------------------------------


def test_a_filled_value_form_reads_back_through_the_app() -> None:
    view = value_view()
    typed = {ids.BLOCK_VALUE_QUOTE: {ids.ACTION_VALUE_QUOTE: "1,200.50"}, ids.BLOCK_VALUE_SALES: {}}
    values = state_values(view, typed, channels=CHANNELS, users=USERS)
    assert values == {
        ids.BLOCK_VALUE_QUOTE: {ids.ACTION_VALUE_QUOTE: {"type": "plain_text_input", "value": "1,200.50"}},
        ids.BLOCK_VALUE_SALES: {ids.ACTION_VALUE_SALES: {"type": "plain_text_input", "value": None}},
    }
    read = value_modal.read_value_modal({**view, "state": {"values": values}})
    assert (read.lead_id, read.quote_value, read.sales_value) == (7, Decimal("1200.50"), None)


def test_a_filled_subscription_form_is_shaped_exactly_as_slack_sends_it() -> None:
    view = subscription_view()
    typed = {
        ids.BLOCK_SUB_CHANNEL: {ids.ACTION_SUB_CHANNEL: "C0CALLS"},
        ids.BLOCK_SUB_TYPES: {ids.ACTION_SUB_TYPES: ["web_form", "chat"]},
        ids.BLOCK_SUB_INCLUDE_SOURCES: {ids.ACTION_SUB_INCLUDE_SOURCES: "google, bing"},
        ids.BLOCK_SUB_EXCLUDE_SOURCES: {ids.ACTION_SUB_EXCLUDE_SOURCES: ""},
        ids.BLOCK_SUB_STATUS: {ids.ACTION_SUB_STATUS: "unique"},
        ids.BLOCK_SUB_QUOTABLE: {ids.ACTION_SUB_QUOTABLE: []},
        ids.BLOCK_SUB_OPTIONS: {ids.ACTION_SUB_OPTIONS: ["compact"]},
    }
    values = state_values(view, typed, channels=CHANNELS, users=USERS)
    answers = {
        ids.BLOCK_SUB_CHANNEL: "C0CALLS",
        ids.BLOCK_SUB_TYPES: ["web_form", "chat"],
        ids.BLOCK_SUB_INCLUDE_SOURCES: "google, bing",
        ids.BLOCK_SUB_EXCLUDE_SOURCES: "",
        ids.BLOCK_SUB_STATUS: "unique",
        ids.BLOCK_SUB_QUOTABLE: [],
        ids.BLOCK_SUB_OPTIONS: ["compact"],
    }
    assert values == fill(view, answers)["state"]["values"]  # the suite's own Slack-shaped builder
    choice = modals.read_subscription_modal({**view, "state": {"values": values}})
    assert (choice.channel_id, choice.grammar) == ("C0CALLS", "forms chats +source:bing,google +status:unique +compact")


def test_only_what_the_form_offered_is_sent() -> None:
    view = subscription_view()
    typed = {
        ids.BLOCK_SUB_CHANNEL: {ids.ACTION_SUB_CHANNEL: "C0SECRET"},
        ids.BLOCK_SUB_TYPES: {ids.ACTION_SUB_TYPES: ["web_form", "made_up"]},
        ids.BLOCK_SUB_STATUS: {ids.ACTION_SUB_STATUS: "nope"},
    }
    values = state_values(view, typed, channels=CHANNELS, users=USERS)
    assert values[ids.BLOCK_SUB_CHANNEL][ids.ACTION_SUB_CHANNEL]["selected_conversation"] is None
    assert [o["value"] for o in values[ids.BLOCK_SUB_TYPES][ids.ACTION_SUB_TYPES]["selected_options"]] == ["web_form"]
    assert values[ids.BLOCK_SUB_STATUS][ids.ACTION_SUB_STATUS]["selected_option"] is None


@pytest.mark.parametrize(
    ("element", "typed", "state"),
    [
        ({"type": "datepicker"}, "2026-05-01", {"selected_date": "2026-05-01"}),
        ({"type": "timepicker"}, "", {"selected_time": None}),
        ({"type": "number_input", "is_decimal_allowed": False}, "12", {"value": "12"}),
        ({"type": "users_select"}, "U1", {"selected_user": "U1"}),
        ({"type": "multi_users_select"}, ["U1", "U404"], {"selected_users": ["U1"]}),
        ({"type": "channels_select"}, "C0LEADS", {"selected_channel": "C0LEADS"}),
        ({"type": "multi_conversations_select"}, ["C0LEADS"], {"selected_conversations": ["C0LEADS"]}),
        (
            {"type": "radio_buttons", "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}]},
            "a",
            {"selected_option": {"text": {"type": "plain_text", "text": "A", "emoji": True}, "value": "a"}},
        ),
        (
            {
                "type": "multi_static_select",
                "option_groups": [
                    {
                        "label": {"type": "plain_text", "text": "G"},
                        "options": [{"text": {"type": "mrkdwn", "text": "*B*"}, "value": "b"}],
                    }
                ],
            },
            ["b"],
            {"selected_options": [{"text": {"type": "mrkdwn", "text": "*B*"}, "value": "b"}]},
        ),
    ],
)
def test_each_element_type_reports_under_its_own_key(element: dict, typed: object, state: dict) -> None:
    view = {"blocks": [{"type": "input", "block_id": "b", "element": {**element, "action_id": "a"}}]}
    values = state_values(view, {"b": {"a": typed}}, channels=CHANNELS, users=USERS)  # type: ignore[dict-item]
    assert values == {"b": {"a": {"type": element["type"], **state}}}


def test_required_fields_left_empty_are_caught_before_sending() -> None:
    view = subscription_view()
    empty = state_values(view, {}, channels=CHANNELS, users=USERS)
    assert required_errors(view, empty) == {ids.BLOCK_SUB_CHANNEL: REQUIRED, ids.BLOCK_SUB_STATUS: REQUIRED}
    typed = {
        ids.BLOCK_SUB_CHANNEL: {ids.ACTION_SUB_CHANNEL: "C0LEADS"},
        ids.BLOCK_SUB_STATUS: {ids.ACTION_SUB_STATUS: "any"},
    }
    assert required_errors(view, state_values(view, typed, channels=CHANNELS, users=USERS)) == {}
    assert required_errors(value_view(), state_values(value_view(), {}, channels=CHANNELS, users=USERS)) == {}


def test_the_page_redraws_a_modal_when_it_changes_and_only_then() -> None:
    view = value_view()
    assert view_key(view, {}) == view_key(dict(view), {})
    assert view_key(view, {}) != view_key({**view, "hash": "h9"}, {})
    assert view_key(view, {}) != view_key(view, {"b": "wrong"})


# --- modals kept open by id, as the fake Slack (or the shim until it does) keeps them -------------


@pytest.fixture
def slack() -> Iterator[SandboxSlack]:
    with SandboxSlack() as fake:
        fake.add_team("T1", "Sandbox Co")
        yield fake


@pytest.fixture
def web(slack: SandboxSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=slack.api_url, token=slack.install()["access_token"])


def modal(text: str, **extra: object) -> dict:
    title = {"type": "plain_text", "text": "T"}
    return {"type": "modal", "title": title, "blocks": [{"type": "section", "text": title | {"text": text}}], **extra}


def shown(slack: SandboxSlack) -> list[str]:
    return [v["blocks"][0]["text"]["text"] for v in slack.open_modals()]


async def test_views_open_update_and_push_change_what_is_open(slack: SandboxSlack, web: AsyncWebClient) -> None:
    first = (await web.views_open(trigger_id=slack.new_trigger_id(), view=modal("one", external_id="x1")))["view"]
    updated = (await web.views_update(external_id="x1", view=modal("one, updated")))["view"]
    assert updated["id"] == first["id"] and updated["hash"] != first["hash"]
    with pytest.raises(SlackApiError) as stale:
        await web.views_update(view_id=first["id"], view=modal("late"), hash=first["hash"])
    assert stale.value.response["error"] == "hash_conflict"
    pushed = (await web.views_push(trigger_id=slack.new_trigger_id(), view=modal("two")))["view"]
    assert shown(slack) == ["one, updated", "two"]
    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (first["id"], first["id"])

    slack.answer_submission(pushed["id"], None)  # an empty ack closes the view on top
    assert shown(slack) == ["one, updated"]
    slack.answer_submission(first["id"], {"response_action": "update", "view": modal("saving…")})
    assert [v["id"] for v in slack.open_modals()] == [first["id"]] and shown(slack) == ["saving…"]
    slack.answer_submission(first["id"], {"response_action": "errors", "errors": {"b": "no"}})
    assert shown(slack) == ["saving…"]
    slack.answer_submission(first["id"], {"response_action": "push", "view": modal("three")})
    slack.answer_submission(first["id"], {"response_action": "clear"})
    assert slack.open_modals() == []


async def test_closing_drops_the_modal_and_updates_then_fail(slack: SandboxSlack, web: AsyncWebClient) -> None:
    opened = (await web.views_open(trigger_id=slack.new_trigger_id(), view=modal("one")))["view"]
    other = (await web.views_open(trigger_id=slack.new_trigger_id(), view=modal("other")))["view"]
    slack.close_view(opened["id"])
    assert [v["id"] for v in slack.open_modals()] == [other["id"]]
    with pytest.raises(SlackApiError) as gone:
        await web.views_update(view_id=opened["id"], view=modal("late"))
    assert gone.value.response["error"] == "not_found"


def test_the_workspace_knows_names_as_they_are_added() -> None:
    fake = SandboxSlack()
    fake.add_channel("T1", "C0LEADS", name="leads")
    fake.add_user("T1", "U1", name="ada")
    fake.add_user("T1", "U2")
    assert fake.names("T1") == Names(channels={"C0LEADS": "leads"}, users={"U1": "ada", "U2": "u2"})
    assert fake.names("T9") == Names()
