"""Errors of `subscribe`: a channel mention reaches Slack as a mention, typed text is escaped exactly once."""

from __future__ import annotations

import pytest

from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack


async def test_a_duplicate_subscription_names_the_channel_with_a_real_mention(
    connected: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.ask("subscribe calls", channel_id="C1")

    reply = await slack.ask("subscribe <#C1|leads> calls", channel_id="C1")

    # What Slack got (the response_url post): a mention Slack renders as #leads, not `&lt;#C1&gt;`.
    (posted,) = [c.params for c in fake_slack.calls_to("response_url") if "already has" in c.params["text"]]
    assert posted == reply
    assert reply["text"] == "<#C1> already has that subscription (id 1)."
    assert reply["blocks"][0]["text"]["text"] == ":warning: <#C1> already has that subscription (id 1)."


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        # Slack sends `&`, `<` and `>` typed in a command as entities; the reply shows them as typed.
        ("+colour:a&amp;b", "`+colour:a&amp;b`"),
        ("&lt;!channel&gt;", "`&lt;!channel&gt;`"),
        ("+source:<@U123>", "`+source:&lt;@U123&gt;`"),  # a real mention, refused as a value
    ],
)
async def test_a_bad_filter_is_shown_as_typed_escaped_once(
    connected: None, slack: SlackClient, sent: str, shown: str
) -> None:
    reply = await slack.ask(f"subscribe {sent}")

    assert reply["text"].startswith(f"I can't use {shown} in a subscription")
    assert "&amp;amp;" not in reply["text"] and "&amp;lt;" not in reply["text"]
    assert "<!channel>" not in reply["text"]
