"""Events API: redeliveries of one event_id are processed once; App Home is published."""

from __future__ import annotations

import asyncio

from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support.install import install

HOME_OPENED = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}


async def test_redelivered_event_is_processed_once(app_url: str, fake_slack: FakeSlack, slack: SlackClient) -> None:
    await install(app_url, fake_slack)

    first = await slack.event(HOME_OPENED, event_id="EvHome1")
    again = await slack.event(HOME_OPENED, event_id="EvHome1", retry_num=1)
    third = await slack.event(HOME_OPENED, event_id="EvHome1", retry_num=2)

    assert [first.status_code, again.status_code, third.status_code] == [200, 200, 200]
    await fake_slack.wait_for_calls("views.publish", 1)
    await asyncio.sleep(0.3)
    assert len(fake_slack.calls_to("views.publish")) == 1
    metrics = await slack._http.get(f"{app_url}/metrics")
    assert "whatconverts_slack_events_deduplicated_total 2.0" in metrics.text


async def test_distinct_events_are_each_processed(app_url: str, fake_slack: FakeSlack, slack: SlackClient) -> None:
    await install(app_url, fake_slack)

    await slack.event(HOME_OPENED, event_id="EvA")
    await slack.event(HOME_OPENED, event_id="EvB")

    await fake_slack.wait_for_calls("views.publish", 2)
    view = fake_slack.calls_to("views.publish")[0].params
    assert view["user_id"] == "U1" and view["view"]["type"] == "home"
