"""Debian's Chromium, headless, as the browser tests launch it through Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# CI installs chromium (.ci/run) and sets REQUIRE_BROWSER=1 so a missing browser fails instead of skipping.
needs_browser = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("REQUIRE_BROWSER") != "1",
    reason="chromium not installed (apt-get install chromium)",
)


@asynccontextmanager
async def browser_page(**options: Any) -> AsyncIterator[Page]:
    """A page of a fresh headless Chromium (`options` as for `new_page`), closed with its browser after."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield await browser.new_page(**options)
        finally:
            await browser.close()
