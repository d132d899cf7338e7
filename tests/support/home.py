"""The App Home tab as a user opens it: an `app_home_opened` event, and the view the app publishes."""

from __future__ import annotations

from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack

HOME_OPENED = {"type": "app_home_opened", "channel": "D1", "tab": "home"}


async def home_of(slack: SlackClient, fake: FakeSlack, user_id: str) -> dict:
    """The Home tab `user_id` sees when they open it (the app publishes it for them)."""
    before = len(fake.calls_to("views.publish"))
    await slack.event({**HOME_OPENED, "user": user_id})
    call = (await fake.wait_for_calls("views.publish", before + 1))[-1]
    assert call.params["user_id"] == user_id
    return call.params["view"]
