"""What a modal shows while work after the ack runs: golden views, within Block Kit's limits."""

from __future__ import annotations

from slack_sdk.models.views import View

from bot import ids
from bot.home.modal_states import loading_view, notice, notice_view, saving_view


def valid(view: dict) -> None:
    """slack_sdk's models check Block Kit limits on every nested object as they serialize."""
    View(**view).to_dict()


def test_loading() -> None:
    view = loading_view("Lead value")

    assert view == {
        "type": "modal",
        "callback_id": ids.VIEW_LOADING,
        "title": {"type": "plain_text", "text": "Lead value"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Loading…"}}],
    }
    valid(view)


def test_saving_carries_the_external_id_the_outcome_finds_it_by() -> None:
    view = saving_view("Add subscription", external_id="saving-V123")

    assert view["callback_id"] == ids.VIEW_SAVING and view["external_id"] == "saving-V123"
    assert "submit" not in view  # nothing to submit twice
    assert "Saving…" in view["blocks"][0]["text"]["text"]
    valid(view)


def test_a_notice_escapes_its_text_and_titles_are_cut() -> None:
    view = notice_view("A title longer than twenty-four", notice("Saved <!channel> & done"))

    assert view["title"]["text"] == "A title longer than twe…"  # 24 characters at most
    assert view["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Saved &lt;!channel&gt; &amp; done"}}
    ]
    assert "external_id" not in view and "callback_id" not in view
    valid(view)
