"""A history of posted cards and claims with known times, written through the storage functions, for
tests of what speed to lead reports."""

from __future__ import annotations

import json
from datetime import datetime

from starlette.applications import Starlette

from storage import claims, outbox
from storage.db import transaction


async def posted(app: Starlette, lead: dict, *, at: datetime, subscription_id: int = 1, channel_id: str = "C1") -> None:
    """`lead` (as WhatConverts has it) got its card in `channel_id` at `at`."""
    row = {
        "subscription_id": subscription_id,
        "team_id": "T1",
        "channel_id": channel_id,
        "lead_id": lead["lead_id"],
        "lead_json": json.dumps(lead),
        "lead_updated_at": at,
        "status": "sent",
        "next_attempt_at": at,
        "created_at": at,
        "sent_at": at,
        "message_ts": f"{at.timestamp():.6f}",
        "shown_json": json.dumps(lead),
    }
    async with transaction(app.state.services.sessions) as session:
        await outbox.upsert(session, [row])


async def claimed(app: Starlette, lead: dict, *, by: str, at: datetime) -> None:
    """`by` pressed "I'll take it" on the lead's card at `at` (it must have a card)."""
    async with transaction(app.state.services.sessions) as session:
        arrived = await claims.first_card_at(session, team_id="T1", lead_id=lead["lead_id"])
        assert arrived is not None, "a lead is claimed from its card: post it first"
        taken = await claims.take(
            session, team_id="T1", lead_id=lead["lead_id"], user_id=by, arrived_at=arrived, now=at
        )
    assert taken.won
