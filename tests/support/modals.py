"""Modals as a person meets them: opened at once (loading), filled in after the ack, submitted.

The fake Slack keeps each open modal as the user sees it; these wait until the app's work after
the ack has settled it, and submit one the way Slack does (the ack's `response_action` then
changes the modal, as Slack would).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bot import ids
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support.payloads import view_submission

WAITING = (ids.VIEW_LOADING, ids.VIEW_SAVING)


async def settled(fake: FakeSlack, view_id: str | None = None, *, after: int = 0, timeout: float = 10.0) -> dict:
    """Modal `view_id` (default: the newest of more than `after` open ones) once it shows no
    loading or saving view any more."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        opened = fake.open_modals()
        found = fake.modal(view_id) if view_id else (opened[-1] if len(opened) > after else None)
        if found is not None and found.get("callback_id") not in WAITING:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"no modal settled within {timeout} s; showing {found}")
        await asyncio.sleep(0.02)


async def submit(
    slack: SlackClient, fake: FakeSlack, view: dict, values: dict[str, Any], *, user_id: str
) -> httpx.Response:
    """Submit the open modal `view` with `values` (state.values); Slack applies the ack to it."""
    response = await slack.interaction(view_submission(view, values, user_id=user_id))
    assert response.status_code == 200, response.text
    fake.answer_submission(view["id"], response.json() if response.content.strip() else None)
    return response


def text_of(view: dict | None) -> str:
    """Everything a modal says, for `in` checks."""
    return str((view or {}).get("blocks"))
