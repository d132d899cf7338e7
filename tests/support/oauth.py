"""The browser side of the WhatConverts OAuth dance against the fake authorization server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.connect import local


async def authorize(app_url: str, link: str) -> tuple[httpx.Response, str, str]:
    """Open the link (→ provider), approve; returns (our landing response, callback URL, connect cookie)."""
    async with httpx.AsyncClient() as browser:
        landing = await browser.get(local(link, app_url))
        assert landing.status_code == 302, landing.text
        approved = await browser.get(landing.headers["location"])
        assert approved.status_code == 302, approved.text
    return landing, approved.headers["location"], landing.cookies.get("wcs_connect", "")


async def callback(app_url: str, callback_url: str, cookie: str) -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        return await browser.get(local(callback_url, app_url), headers={"cookie": f"wcs_connect={cookie}"})


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
