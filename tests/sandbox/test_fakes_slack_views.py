"""Self-test of the fake Slack's modals: trigger_ids as Slack treats them (S6), views.update, acks.

The app's 3-second tests are only as good as this: a trigger is good for one `views.open` (or
`views.push`) within 3 s of the interaction, an open modal is edited by id for as long as it is
open, and an ack's `response_action` changes what the user sees.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import TRIGGER_TTL, FakeSlack, mint_trigger_id

MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Lead value"},
    "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "Loading…"}}],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock) as server:
        yield server


@pytest.fixture
def web(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=fake.install()["access_token"])


async def refusal(call: object) -> str:
    with pytest.raises(SlackApiError) as refused:
        await call  # type: ignore[misc]
    return str(refused.value.response["error"])


def with_text(text: str, **extra: object) -> dict:
    return {**MODAL, "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text}}], **extra}


async def test_a_trigger_opens_one_modal_within_three_seconds(
    fake: FakeSlack, web: AsyncWebClient, clock: Clock
) -> None:
    fresh, late, reused = fake.new_trigger_id(), fake.new_trigger_id(), fake.new_trigger_id()

    clock.now += TRIGGER_TTL - 0.1
    opened = (await web.views_open(trigger_id=fresh, view=MODAL))["view"]
    assert await refusal(web.views_open(trigger_id=fresh, view=MODAL)) == "exchanged_trigger_id"
    await web.views_open(trigger_id=reused, view=MODAL)
    clock.now += 0.2
    assert await refusal(web.views_open(trigger_id=late, view=MODAL)) == "expired_trigger_id"

    assert opened["id"].startswith("V") and opened["hash"] and opened["root_view_id"] == opened["id"]
    assert [v["id"] for v in fake.open_modals()][:1] == [opened["id"]] and len(fake.open_modals()) == 2


@pytest.mark.parametrize("trigger", ["1.2.trigger", "sandbox.trigger", "111.222.abc", ""])
async def test_a_trigger_slack_never_issued_is_invalid(fake: FakeSlack, web: AsyncWebClient, trigger: str) -> None:
    error = await refusal(web.views_open(trigger_id=trigger, view=MODAL))

    assert error == ("invalid_arguments" if not trigger else "invalid_trigger_id")
    assert fake.open_modals() == []


async def test_minted_triggers_date_from_their_interaction(fake: FakeSlack, web: AsyncWebClient, clock: Clock) -> None:
    """The sandbox page and the payload builders mint trigger_ids without asking the fake."""
    assert await refusal(web.views_open(trigger_id=mint_trigger_id(clock.now - 4), view=MODAL)) == "expired_trigger_id"
    await web.views_open(trigger_id=mint_trigger_id(clock.now - 2), view=MODAL)
    assert mint_trigger_id() != mint_trigger_id()


async def test_views_update_edits_an_open_modal_for_hours(fake: FakeSlack, web: AsyncWebClient, clock: Clock) -> None:
    opened = (await web.views_open(trigger_id=fake.new_trigger_id(), view=MODAL))["view"]

    clock.now += 2 * 3600
    updated = (await web.views_update(view_id=opened["id"], view=with_text("Saved")))["view"]
    stale = await refusal(web.views_update(view_id=opened["id"], hash=opened["hash"], view=with_text("x")))
    again = await web.views_update(view_id=opened["id"], hash=updated["hash"], view=with_text("Saved again"))

    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert stale == "hash_conflict" and again["view"]["hash"] != updated["hash"]
    assert "Saved again" in str(fake.modal(opened["id"]))
    assert await refusal(web.views_update(view_id="V404", view=MODAL)) == "not_found"
    assert await refusal(web.api_call("views.update", json={"view": MODAL})) == "invalid_arguments"


async def test_views_update_by_external_id(fake: FakeSlack, web: AsyncWebClient) -> None:
    await web.views_open(trigger_id=fake.new_trigger_id(), view={**MODAL, "external_id": "lead-7"})

    await web.views_update(external_id="lead-7", view=with_text("Filled", external_id="lead-7"))

    (shown,) = fake.open_modals()
    assert "Filled" in str(shown)
    assert await refusal(web.views_update(external_id="lead-8", view=MODAL)) == "not_found"


async def test_a_closed_modal_cannot_be_updated(fake: FakeSlack, web: AsyncWebClient) -> None:
    opened = (await web.views_open(trigger_id=fake.new_trigger_id(), view=MODAL))["view"]

    fake.close_view(opened["id"])

    assert fake.modal(opened["id"]) is None
    assert await refusal(web.views_update(view_id=opened["id"], view=MODAL)) == "not_found"


async def test_views_push_stacks_on_the_open_modal_with_a_fresh_trigger(
    fake: FakeSlack, web: AsyncWebClient, clock: Clock
) -> None:
    assert await refusal(web.views_push(trigger_id=fake.new_trigger_id(), view=MODAL)) == "not_found"
    root = (await web.views_open(trigger_id=fake.new_trigger_id(), view=MODAL))["view"]
    late = fake.new_trigger_id()
    clock.now += TRIGGER_TTL + 1

    assert await refusal(web.views_push(trigger_id=late, view=MODAL)) == "expired_trigger_id"
    top = (await web.views_push(trigger_id=fake.new_trigger_id(), view=with_text("Details")))["view"]

    assert (top["root_view_id"], top["previous_view_id"]) == (root["id"], root["id"])
    fake.close_view(top["id"])  # closing a modal closes its stack
    assert fake.open_modals() == []


async def test_the_ack_of_a_submission_changes_the_modal(fake: FakeSlack, web: AsyncWebClient) -> None:
    opened = (await web.views_open(trigger_id=fake.new_trigger_id(), view=MODAL))["view"]
    view_id = opened["id"]

    fake.answer_submission(view_id, {"response_action": "errors", "errors": {"quote": "Enter an amount"}})
    assert fake.modal(view_id) == opened
    fake.answer_submission(view_id, {"response_action": "update", "view": with_text("Saving…")})
    saving = fake.modal(view_id)
    assert saving is not None and "Saving…" in str(saving) and saving["hash"] != opened["hash"]
    fake.answer_submission(view_id, {"response_action": "push", "view": with_text("More")})
    assert len(fake.open_modals()) == 2
    fake.answer_submission(view_id, {"response_action": "clear"})
    assert fake.open_modals() == []

    second = (await web.views_open(trigger_id=fake.new_trigger_id(), view=MODAL))["view"]
    fake.answer_submission(second["id"], None)  # an empty ack closes the modal
    assert await refusal(web.views_update(view_id=second["id"], view=MODAL)) == "not_found"
