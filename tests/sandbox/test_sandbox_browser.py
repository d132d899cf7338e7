"""The sandbox page in a real headless browser, against the running demo: modals, names, emoji, commands.

One demo and one browser for the module (each takes seconds to start); every test opens a fresh
page and first closes any modal an earlier test left open, since modals live in the demo's Slack.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.support.browser import CHROMIUM, FLAGS, needs_browser
from tests.support.demo import Demo, running_demo, wait_for_card

pytestmark = needs_browser
APP = 15_000  # ms: a round trip through the app, the fake Slack and the page's polling
PRESSES = 3  # cards pressed at once


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with running_demo() as running:
        wait_for_card(running.url, cards=PRESSES)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, demo: Demo) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1400, "height": 900})
    opened.goto(f"{demo.url}/sandbox")
    opened.wait_for_selector("#channel-C0LEADS .slack-message")
    close_modals(opened)
    yield opened
    opened.close()


def close_top(page: Page, button: str = ".slack-modal-x") -> None:
    shown = page.locator("#modal-layer .slack-modal")
    view_id = shown.get_attribute("data-view-id")
    shown.locator(button).first.click()
    expect(page.locator(f'#modal-layer .slack-modal[data-view-id="{view_id}"]')).to_have_count(0, timeout=APP)


def close_modals(page: Page) -> None:
    page.evaluate("window.sandbox.refresh()")
    while page.locator("#modal-layer .slack-modal").count():
        close_top(page)


def finished(page: Page) -> None:
    """After a good submission the app closes the form, or says in it how it went: never an error."""
    expect(page.locator("#modal-layer .slack-error, #modal-layer .slack-modal-problem")).to_have_count(0)
    close_modals(page)


def modal(page: Page, title: str) -> Locator:
    shown = page.locator("#modal-layer .slack-modal")
    expect(shown.locator(".slack-modal-title")).to_have_text(title, timeout=APP)
    return shown


def settled_card(page: Page) -> Locator:
    """The newest card in #leads whose lead won't change under the test (no call still in progress)."""
    cards = page.locator("#channel-C0LEADS .slack-message").filter(
        has=page.locator("button[data-action-id='lead_value']"), has_not_text="In progress"
    )
    expect(cards.last).to_be_visible(timeout=30_000)
    return cards.last


def by_id(page: Page, element_id: str) -> Locator:
    return page.locator(f'[id="{element_id}"]')


def command(page: Page, text: str) -> Locator:
    before = page.locator("#reply .slack-message").count()
    page.fill("#command-text", text)
    page.click("#run")
    expect(page.locator("#reply .slack-message")).not_to_have_count(before, timeout=APP)
    return page.locator("#reply .slack-message").last


def test_add_value_opens_its_modal_and_the_card_shows_the_value(page: Page) -> None:
    card = settled_card(page)
    card_id = card.get_attribute("id") or ""
    card.locator("button[data-action-id='lead_value']").click()
    form = modal(page, "Lead value")
    expect(form.locator("[data-modal=submit]")).to_have_text("Save")

    form.get_by_label("Quote value").fill("12 dollars")
    form.locator("[data-modal=submit]").click()
    # The app answered response_action "errors": shown under its input, what was typed kept.
    expect(form.locator(".slack-error")).to_contain_text("Enter an amount", timeout=APP)
    expect(form.get_by_label("Quote value")).to_have_value("12 dollars")

    form.get_by_label("Quote value").fill("1,234.50")
    form.locator("[data-modal=submit]").click()
    expect(by_id(page, card_id)).to_contain_text("$1,234.50", timeout=APP)
    expect(by_id(page, card_id)).to_contain_text("by @ada")
    finished(page)


def test_take_a_lead_hand_it_over_and_release_it(page: Page) -> None:
    card = settled_card(page)
    card_id = card.get_attribute("id") or ""
    card.locator("button[data-action-id='lead_claim']").click()
    shown = by_id(page, card_id)
    expect(shown).to_contain_text("Claimed by @ada · under a minute after it arrived", timeout=APP)

    # The hand-over menu lists the workspace's people; picking one reports it at once, as in Slack.
    shown.locator("select.slack-menu[data-action-id='lead_hand_over']").select_option(label="grace")
    expect(shown).to_contain_text("Claimed by @grace · first claimed by @ada", timeout=APP)

    shown.locator("button[data-action-id='lead_release']").click()
    expect(shown.locator("button[data-action-id='lead_claim']")).to_be_visible(timeout=APP)
    expect(shown).not_to_contain_text("Claimed by")


def test_add_subscription_opens_its_modal_and_home_lists_it(page: Page) -> None:
    page.locator("#home button[data-action-id='home_sub_add']").click()
    form = modal(page, "Add subscription")

    form.locator("[data-modal=submit]").click()
    # Slack's own check: a required field left empty is flagged before anything is sent.
    expect(form.locator(".slack-input.has-error .slack-error")).to_have_text("Please complete this required field.")

    form.get_by_label("Channel").select_option(label="# calls")
    form.get_by_label("Web forms").check()
    form.get_by_label("Only these sources").fill("duckduckgo")
    form.locator("[data-modal=submit]").click()
    expect(page.locator("#home")).to_contain_text("+source:duckduckgo", timeout=APP)
    finished(page)
    line = page.locator("#home .slack-section", has_text="+source:duckduckgo")
    expect(line).to_contain_text("#calls")


def test_the_connect_modal_from_home_holds_the_link(page: Page) -> None:
    page.locator("#home button[data-action-id='home_connect']").click()
    form = modal(page, "Connect WhatConverts")
    link = form.locator("a.slack-button")
    assert (link.get_attribute("href") or "").startswith(page.url.split("/sandbox")[0] + "/whatconverts/connect?state=")
    expect(form.locator(".slack-modal-foot [data-modal=close]")).to_have_text("Done")
    close_top(page, ".slack-modal-foot [data-modal=close]")
    expect(page.locator("#modal-layer")).to_be_hidden()


def test_names_and_emoji_render_as_slack_shows_them(page: Page) -> None:
    card = settled_card(page)
    card_id = card.get_attribute("id") or ""
    card.locator("button[data-action-id='lead_quotable']").click()
    expect(by_id(page, card_id)).to_contain_text("marked quotable by @ada", timeout=APP)
    command(page, "/whatconverts list")
    expect(page.locator("#home")).to_contain_text("🟢")

    shown = page.inner_text("body")
    assert "#leads" in shown and "@ada" in shown
    assert not re.search(r":[a-z][a-z0-9_+-]*:", shown), "raw emoji shortcode on the page"
    assert not re.search(r"[#@](C0|U)[A-Z0-9]+\b", shown), "a channel or user id instead of its name"
    # Emoji come in a colour emoji font wherever the page shows them.
    font = page.locator(".slack-emoji").first.evaluate("e => getComputedStyle(e).fontFamily")
    assert "Noto Color Emoji" in font


def test_channel_and_user_names_typed_in_the_command_box_are_escaped_as_slack_does(page: Page) -> None:
    reply = command(page, "/whatconverts subscribe #calls chats +source:bing")
    expect(reply).to_contain_text("#calls now gets new leads")
    expect(reply).to_contain_text("chats +source:bing")

    # A name the workspace doesn't have stays as typed; the app asks for a real channel.
    reply = command(page, "/whatconverts subscribe #nowhere chats")
    expect(reply).to_contain_text("#nowhere")
    expect(reply).not_to_contain_text("now gets new leads")


def test_presses_made_at_once_each_open_their_modal(page: Page) -> None:
    presses = PRESSES
    answers = page.evaluate(
        """async (n) => {
          const buttons = [...document.querySelectorAll("#channel-C0LEADS button[data-action-id='lead_value']")];
          return Promise.all(buttons.slice(-n).map((b) => window.sandbox.press(b)));
        }""",
        presses,
    )
    assert [a["ok"] for a in answers] == [True] * presses
    modal(page, "Lead value")
    expect(page.locator("#modal-layer .modal-count")).to_have_text(f"{presses - 1} more behind this one", timeout=APP)
    for _ in range(presses):
        expect(page.locator("#modal-layer .slack-modal-title")).to_have_text("Lead value")
        close_top(page, ".slack-modal-foot [data-modal=close]")
    expect(page.locator("#modal-layer")).to_be_hidden(timeout=APP)


BURST = 30  # presses at once, each its own request and trigger_id (which the fake expires after 3 s)


def test_thirty_add_value_presses_at_once_all_open_their_modal(page: Page) -> None:
    """S6: a modal opens in the listener, before any queue, so no trigger_id of a burst expires."""
    answers = page.evaluate(
        """async (n) => {
          const cards = [...document.querySelectorAll("#channel-C0LEADS button[data-action-id='lead_value']")];
          const button = cards[cards.length - 1];
          return Promise.all(Array.from({length: n}, () => window.sandbox.press(button)));
        }""",
        BURST,
    )
    assert [a["ok"] for a in answers] == [True] * BURST
    modal(page, "Lead value")
    expect(page.locator("#modal-layer .modal-count")).to_have_text(f"{BURST - 1} more behind this one", timeout=APP)
    expect(page.locator("#modal-layer .slack-error, #modal-layer .slack-modal-problem")).to_have_count(0)
    closed = page.evaluate(
        """async () => {
          let closed = 0;
          for (let s = await (await fetch("/sandbox/state")).json(); s.modal; closed++) {
            const r = await fetch("/sandbox/view/close", {method: "POST", headers: {"content-type": "application/json"},
                                                          body: JSON.stringify({view_id: s.modal.id})});
            s = await r.json();
          }
          return closed;
        }"""
    )
    assert closed == BURST


def test_a_value_saved_while_whatconverts_takes_five_seconds_is_kept_without_a_false_error(
    page: Page, demo: Demo
) -> None:
    card = settled_card(page)
    card_id = card.get_attribute("id") or ""
    lead_id = re.search(r"Lead #(\d+)", card.inner_text()).group(1)  # type: ignore[union-attr]
    slowed = httpx.post(f"{demo.url}/sandbox/whatconverts/slow", json={"lead_id": lead_id, "seconds": 5, "times": 4})
    assert slowed.json()["ok"], slowed.text

    card.locator("button[data-action-id='lead_value']").click()
    form = modal(page, "Lead value")
    form.get_by_label("Quote value").fill("4,321.00")
    submitted = time.monotonic()
    form.locator("[data-modal=submit]").click()
    # Acked at once: the form says it is saving (no "trouble connecting" after 3 s, no error) …
    expect(page.locator("#modal-layer .slack-modal")).to_contain_text("Saving", timeout=APP)
    # … and the value lands once WhatConverts answers.
    expect(by_id(page, card_id)).to_contain_text("$4,321.00", timeout=30_000)
    assert time.monotonic() - submitted > 4.5, "WhatConverts was not slowed: the test shows nothing"
    expect(page.locator("#modal-layer .slack-error, #modal-layer .slack-modal-problem")).to_have_count(0)
    expect(page.locator("#modal-layer")).not_to_contain_text("trouble connecting")
    finished(page)
