"""Interaction payloads shaped like Slack's: button presses in messages and on Home, view submissions."""

from __future__ import annotations

from typing import Any

from tests.fakes.slack import mint_trigger_id


def message_press(
    reply: dict, action_id: str, *, user_id: str, channel_id: str = "C1", message_ts: str | None = None,
    response_url: str = "http://127.0.0.1:9/hooks/unused",
) -> dict:  # fmt: skip
    """Pressing the button `action_id` of a message (an ephemeral reply or a posted card)."""
    for block in reply["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                container: dict[str, Any] = {"type": "message", "channel_id": channel_id}
                container.update({"message_ts": message_ts} if message_ts else {"is_ephemeral": True})
                return {
                    "type": "block_actions",
                    "user": {"id": user_id, "team_id": "T1"},
                    "team": {"id": "T1", "domain": "acme"},
                    "api_app_id": "A1",
                    "container": container,
                    "channel": {"id": channel_id, "name": "leads"},
                    "message": {"ts": message_ts, "blocks": reply["blocks"]} if message_ts else None,
                    "response_url": response_url,
                    "trigger_id": mint_trigger_id(),  # pressed now: good for 3 s, once (S6)
                    "actions": [{**element, "block_id": block.get("block_id", "b"), "action_ts": "1.2"}],
                }
    raise AssertionError(f"no button {action_id}")


def home_press(view: dict, action_id: str, *, user_id: str, value: str | None = None) -> dict:
    """Pressing a Home tab button (no response_url, a trigger_id for modals)."""
    for block in view["blocks"]:
        elements = block.get("elements", []) + ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if element.get("action_id") == action_id and (value is None or element.get("value") == value):
                return {
                    "type": "block_actions",
                    "user": {"id": user_id, "team_id": "T1"},
                    "team": {"id": "T1", "domain": "acme"},
                    "api_app_id": "A1",
                    "container": {"type": "view", "view_id": "V1"},
                    "view": {"id": "V1", "type": "home"},
                    "trigger_id": mint_trigger_id(),  # pressed now: good for 3 s, once (S6)
                    "actions": [{**element, "block_id": block.get("block_id", "b"), "action_ts": "1.2"}],
                }
    raise AssertionError(f"no button {action_id} (value {value}) on the view")


def view_submission(view: dict, values: dict[str, dict[str, dict]], *, user_id: str) -> dict:
    """Submitting a modal with `values` as Slack sends them (state.values[block_id][action_id])."""
    return {
        "type": "view_submission",
        "user": {"id": user_id, "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "api_app_id": "A1",
        "trigger_id": mint_trigger_id(),
        "view": {**view, "id": view.get("id", "V2"), "state": {"values": values}},
    }


def fill(view: dict, answers: dict[str, Any] | None = None) -> dict:
    """`view` as a `view_submission` carries it: answers by block_id, initial values elsewhere."""
    answers = answers or {}
    values: dict[str, dict] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        answer = answers.get(block["block_id"], ...)
        if kind == "static_select":
            by_value = {o["value"]: o for o in element["options"]}
            chosen = element.get("initial_option") if answer is ... else by_value.get(answer) if answer else None
            state = {"selected_option": _with_emoji(chosen) if chosen else None}
        elif kind == "checkboxes":
            if answer is ...:
                chosen = element.get("initial_options", [])
            else:
                chosen = [o for o in element["options"] if o["value"] in answer]
            state = {"selected_options": [_with_emoji(o) for o in chosen]}
        elif kind == "conversations_select":
            state = {"selected_conversation": element.get("initial_conversation") if answer is ... else answer}
        elif kind == "plain_text_input":
            text = element.get("initial_value") if answer is ... else answer
            state = {"value": text or None}  # Slack sends null for an empty input
        else:
            raise AssertionError(f"no filler for {kind}")
        values[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    shown = {"id": "V0123ABC", "team_id": "T0001", "hash": "1.abc"}  # what Slack adds, unless it did already
    return {**shown, **view, "state": {"values": values}}


def _with_emoji(opt: dict) -> dict:
    # Slack echoes text objects back with `emoji` set, so the reader must not compare whole options.
    return {**opt, "text": {**opt["text"], "emoji": True}}
