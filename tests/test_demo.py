"""`whatconverts-slack demo`: starts, shows lead cards at /sandbox, stops cleanly; and in a real browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SCRIPT = str(Path(sys.executable).parent / "whatconverts-slack")
DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOKEN_", "WHATCONVERTS_"))}


@pytest.fixture
def demo() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    proc = subprocess.Popen(
        [SCRIPT, "demo", "--port", str(port)],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # blocks until the demo has set itself up
    assert banner.startswith("WhatConverts for Slack demo: open http://127.0.0.1:"), banner + proc.stderr.read()
    yield f"http://127.0.0.1:{port}", proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def wait_for_card(base: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/sandbox/state", timeout=5).json()
        if "Lead #" in "".join(state["channels"].values()):
            return state
        time.sleep(0.5)
    raise AssertionError("no lead card within 30 s")


def test_demo_shows_cards_and_stops_on_ctrl_c(demo: tuple[str, subprocess.Popen[str]]) -> None:
    base, proc = demo

    page = httpx.get(f"{base}/sandbox", timeout=10)
    state = wait_for_card(base)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)

    assert page.status_code == 200 and "sandbox" in page.text
    assert "slack-message" in "".join(state["channels"].values())
    assert proc.returncode == 0, err


def test_demo_refuses_production_settings() -> None:
    env = {**clean_env(), "SLACK_SIGNING_SECRET": "real-looking-secret"}
    result = subprocess.run([SCRIPT, "demo", "--port", str(free_port())], env=env, capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr and "real-looking-secret" not in result.stderr


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("REQUIRE_BROWSER") != "1", reason="chromium not installed"
)
async def test_sandbox_in_a_real_browser(demo: tuple[str, subprocess.Popen[str]]) -> None:
    from playwright.async_api import async_playwright

    base, _ = demo
    wait_for_card(base)
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            await page.goto(f"{base}/sandbox")
            await page.wait_for_selector("#channel-C0LEADS .slack-message")
            await page.fill("#command-text", "/whatconverts list")
            await page.click("#run")
            await page.wait_for_selector("#reply :text('Subscriptions in this channel')")
            card = page.locator("#channel-C0LEADS .slack-message").first
            card_id = await card.get_attribute("id")
            await card.locator("button[data-action-id='lead_quotable']").click()
            await page.wait_for_function(
                "id => (document.getElementById(id) || {textContent: ''}).textContent.includes('marked quotable')",
                arg=card_id,
                timeout=15000,
            )
            DOCS.mkdir(exist_ok=True)
            await page.screenshot(path=str(DOCS / "sandbox.png"))
        finally:
            await browser.close()
    assert (DOCS / "sandbox.png").stat().st_size > 10_000
