"""The Home tab lists the leads nobody has claimed yet, oldest first, with how long they have waited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette

from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.claims import claimed, posted
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN
from tests.support.home import home_of
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def subscribed(installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts) -> None:
    fake_wc.set_daily_limit(PROFILE_TOKEN, None)
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    await slack.ask("subscribe")


def section(view: dict) -> list[str]:
    """The texts of the "Unclaimed leads" part of a Home view, up to the next header."""
    blocks = view["blocks"]
    start = next(i for i, b in enumerate(blocks) if b["type"] == "header" and b["text"]["text"] == "Unclaimed leads")
    texts = []
    for block in blocks[start + 1 :]:
        if block["type"] == "header":
            break
        texts.append(block["text"]["text"] if block["type"] == "section" else block["elements"][0]["text"])
    return texts


async def test_home_shows_unclaimed_leads_oldest_first_with_their_age(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    assert section(await home_of(slack, fake_slack, "U2")) == [
        "None right now: every lead card posted lately has been claimed."
    ]
    now = datetime.now(UTC)
    call = fake_wc.add_lead(lead_type="phone_call", contact_name="Pat Caller")
    form = fake_wc.add_lead(lead_type="web_form", contact_name="Fay Former")
    taken = fake_wc.add_lead(lead_type="chat")
    spam = fake_wc.add_lead(lead_type="web_form", spam=True)  # its card has no buttons: nobody can claim it
    fresh = fake_wc.add_lead(lead_type="text_message")
    await posted(app, form, at=now - timedelta(hours=26, minutes=5))
    await posted(app, call, at=now - timedelta(minutes=42, seconds=30))
    await posted(app, taken, at=now - timedelta(hours=30))
    await claimed(app, taken, by="U1", at=now - timedelta(hours=29))
    await posted(app, spam, at=now - timedelta(hours=40))
    await posted(app, fresh, at=now - timedelta(seconds=20))

    for user in ("U2", "U1"):  # a member and an admin see the same list
        view = await home_of(slack, fake_slack, user)
        assert section(view) == [
            f"• 📝 Web form · lead #{form['lead_id']} in <#C1> · waiting 1 d 2 h\n"
            f"• 📞 Phone call · lead #{call['lead_id']} in <#C1> · waiting 42 min\n"
            f"• 📱 Text message · lead #{fresh['lead_id']} in <#C1> · arrived just now"
        ]
        # Where the card is and how long it waited, never who the lead is (the card's channel may be private).
        assert "Pat Caller" not in json.dumps(view) and "Fay Former" not in json.dumps(view)
    assert "guests can't see" in json.dumps(await home_of(slack, fake_slack, "U3"))


async def test_home_shows_the_ten_oldest_and_how_many_more(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    now = datetime.now(UTC)
    leads = [fake_wc.add_lead(lead_type="phone_call") for _ in range(13)]
    for n, lead in enumerate(leads):
        await posted(app, lead, at=now - timedelta(hours=13 - n))

    lines, more = section(await home_of(slack, fake_slack, "U2"))

    shown = [line.split(" · ")[1] for line in lines.split("\n")]
    assert shown == [f"lead #{lead['lead_id']} in <#C1>" for lead in leads[:10]]
    assert lines.split("\n")[0].endswith("waiting 13 h") and more == "…and 3 more."
