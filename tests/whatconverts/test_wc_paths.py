"""WhatConverts menu paths read the same wherever a person is sent into WhatConverts' menus."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.alerts import card_actions
from bot.connect import messages as connect_messages
from bot.home import view as home
from bot.slack import messages
from bot.web import pages
from bot.whatconverts import paths as wc_paths
from tests.fakes.signing import SlackClient
from tests.support.connect import connect_link, submit_key
from tests.support.constants import PROFILE_TOKEN

README = Path(__file__).resolve().parents[2] / "README.md"
# Words that only ever appear in a WhatConverts menu path; a line with an arrow and one of these
# that isn't one of the constants is a second wording.
MENU_WORDS = re.compile(r"Integrations|API Keys|Webhooks|Lead Manager|Mark as Spam|Master Account")


def check_slack_accepts(message: dict) -> None:
    for raw in message["blocks"]:
        Block.parse(raw).validate_json()  # what Slack would refuse, slack_sdk refuses


def stray_paths(text: str) -> list[str]:
    """Lines that still show a WhatConverts menu path once every constant has been taken out."""
    for path in wc_paths.ALL:
        text = text.replace(path, "")
    return [line for line in text.splitlines() if "→" in line and MENU_WORDS.search(line)]


def test_unconfirmed_paths_say_so_and_confirmed_ones_do_not() -> None:
    assert wc_paths.WEBHOOKS.endswith(wc_paths.MAY_DIFFER)
    assert wc_paths.MARK_SPAM.endswith(wc_paths.MAY_DIFFER)
    assert wc_paths.MAY_DIFFER not in wc_paths.PROFILE_API_KEYS + wc_paths.MASTER_API_KEYS


def test_readme_shows_every_path_in_the_one_wording() -> None:
    text = README.read_text()
    for path in wc_paths.ALL:
        assert path in text, path
    assert stray_paths(text) == []


def test_slack_replies_show_the_same_paths() -> None:
    disconnected = connect_messages.disconnected_message(label="acme", kind="api_key")
    webhook = connect_messages.webhook_message(
        label="acme", url="https://wcs.test/whatconverts/webhook/x", rotated=False
    )

    for message, paths in (
        (disconnected, (wc_paths.PROFILE_API_KEYS, wc_paths.MASTER_API_KEYS)),
        (webhook, (wc_paths.WEBHOOKS,)),
    ):
        shown = str(message)
        assert all(path in shown for path in paths), shown
        check_slack_accepts(message)
        assert stray_paths(shown.replace("\\n", "\n")) == []


def test_home_tab_shows_the_same_webhook_path() -> None:
    row = connect_messages.ConnectionStatus(
        label="acme",
        kind="api_key",
        key_type="profile",
        scope=[],
        status="ok",
        last_error=None,
        last_poll_at=datetime(2025, 6, 1, tzinfo=UTC),
        quota_used=3,
        quota_limit=1000,
        connection_id=1,
        webhook_url="https://wcs.test/whatconverts/webhook/x",
    )
    view = home.home_view(home.HomeData(role="admin", connections=[row]))

    shown = str(view)
    assert wc_paths.WEBHOOKS in shown
    assert stray_paths(shown.replace("\\n", "\n")) == []
    View(**view).validate_json()


def test_the_spam_button_of_older_cards_shows_the_same_path() -> None:
    shown = card_actions.spam_elsewhere().message

    assert wc_paths.MARK_SPAM in shown
    assert stray_paths(shown) == []
    check_slack_accepts(messages.error_message(shown))  # how the presser sees it


def test_connect_page_shows_the_same_paths() -> None:
    page = html.unescape(pages.connect_form(state="s", label=None))

    assert wc_paths.PROFILE_API_KEYS in page and wc_paths.MASTER_API_KEYS in page
    assert stray_paths(page) == []


async def test_a_refused_key_is_told_where_to_copy_it_from(installed: None, app_url: str, slack: SlackClient) -> None:
    _, wrong = await submit_key(app_url, await connect_link(slack), token=PROFILE_TOKEN, secret="wrong-secret-value")

    page = html.unescape(wrong.text)
    assert wrong.status_code == 400
    assert wc_paths.PROFILE_API_KEYS in page and wc_paths.MASTER_API_KEYS in page
    assert stray_paths(page) == []
