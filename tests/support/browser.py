"""Debian's Chromium, headless, as the browser tests launch it through Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
