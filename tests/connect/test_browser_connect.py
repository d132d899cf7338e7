"""The connect page in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.signing import SlackClient
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.browser import browser_page, needs_browser
from tests.support.connect import connect_link, local
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN

pytestmark = needs_browser


async def test_fill_the_form_and_see_success(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, sqlite_url: str, tmp_path: Path
) -> None:
    fake_wc.add_lead()
    link = local(await connect_link(slack), app_url)
    async with browser_page() as page:
        await page.goto(link)
        await page.fill("#api_token", PROFILE_TOKEN)
        await page.fill("#api_secret", "wrong-secret-typed")
        await page.click("#connect")
        error = await page.text_content("#error")
        await page.fill("#api_token", PROFILE_TOKEN)  # nothing typed is echoed back, not even the token
        await page.fill("#api_secret", PROFILE_SECRET)
        await page.click("#connect")
        await page.wait_for_selector("#success")
        body = await page.text_content("main")
        await page.screenshot(path=str(tmp_path / "connected.png"))

    assert error is not None and "accept that API token and secret" in error
    assert body is not None and "Connected" in body and "main-site" in body
    assert (tmp_path / "connected.png").stat().st_size > 1000
    assert len((await rawdb.dump(sqlite_url))["connections"]) == 1
