"""What a submitted modal holds, as Slack reports it to the app.

`state_values` builds `view.state.values` exactly as Slack shapes it for each element type, from
what the page's form fields hold; `required_errors` is Slack's own client-side check that runs
before anything is sent; `view_key` tells the page when a modal must be drawn again.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bot.sandbox.view_render import options_of

REQUIRED = "Please complete this required field."
# Element type → the key Slack puts its value under in view.state.values.
STATE_KEY = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "static_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "checkboxes": "selected_options",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "users_select": "selected_user",
    "multi_conversations_select": "selected_conversations",
    "multi_channels_select": "selected_channels",
    "multi_users_select": "selected_users",
}
_CHANNEL_KINDS = ("conversations_select", "channels_select", "multi_conversations_select", "multi_channels_select")
_USER_KINDS = ("users_select", "multi_users_select")
Typed = str | list[str] | None  # what one form field holds: text, chosen values, or nothing


def input_elements(view: Mapping[str, Any]) -> list[tuple[str, str, dict]]:
    """(block_id, action_id, element) of every input block, in order."""
    found = []
    for block in view.get("blocks") or []:
        if not isinstance(block, dict) or block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        element = block["element"]
        found.append((str(block.get("block_id") or ""), str(element.get("action_id") or ""), element))
    return found


def _echoed(option: Mapping[str, Any]) -> dict:
    """An option as Slack echoes it back: a copy whose plain_text says `emoji: true`."""
    out = copy.deepcopy(dict(option))
    text = out.get("text")
    if isinstance(text, dict) and text.get("type") == "plain_text":
        text.setdefault("emoji", True)
    return out


def _shaped(element: dict, typed: Typed, channels: Mapping[str, str], users: Mapping[str, str]) -> Any:
    """One field's value as Slack reports it: only what the element offered, nothing typed-in."""
    kind = element.get("type")
    chosen = [typed] if isinstance(typed, str) else list(typed or [])
    chosen = [value for value in chosen if value]
    multiple = STATE_KEY[kind].endswith("s")
    if kind in ("static_select", "radio_buttons", "multi_static_select", "checkboxes"):
        offered = {str(o.get("value")): o for o in options_of(element)}
        picked = [_echoed(offered[value]) for value in chosen if value in offered]
    elif kind in _CHANNEL_KINDS or kind in _USER_KINDS:
        known = channels if kind in _CHANNEL_KINDS else users
        picked = [value for value in chosen if value in known]
    else:
        return chosen[0] if chosen else None
    return picked if multiple else (picked[0] if picked else None)


def state_values(
    view: Mapping[str, Any],
    typed: Mapping[str, Mapping[str, Typed]],
    *,
    channels: Mapping[str, str],
    users: Mapping[str, str],
) -> dict[str, dict[str, dict]]:
    """`view.state.values` for a submission: every input block, empty ones included (as Slack does)."""
    values: dict[str, dict[str, dict]] = {}
    for block_id, action_id, element in input_elements(view):
        kind = element.get("type")
        if kind not in STATE_KEY:
            continue
        raw = (typed.get(block_id) or {}).get(action_id)
        shaped = _shaped(element, raw, channels, users)
        values.setdefault(block_id, {})[action_id] = {"type": kind, STATE_KEY[kind]: shaped}
    return values


def required_errors(view: Mapping[str, Any], values: Mapping[str, Mapping[str, dict]]) -> dict[str, str]:
    """Blocks that are required but left empty; Slack says so itself and sends nothing."""
    errors = {}
    optional = {
        str(b.get("block_id") or ""): bool(b.get("optional")) for b in view.get("blocks") or [] if isinstance(b, dict)
    }
    for block_id, action_id, element in input_elements(view):
        state = (values.get(block_id) or {}).get(action_id)
        if optional.get(block_id) or state is None:
            continue
        if not state.get(STATE_KEY[element["type"]]):
            errors[block_id] = REQUIRED
    return errors


def view_key(view: Mapping[str, Any], errors: Mapping[str, str]) -> str:
    """Changes whenever what the page must draw changes: another view, an update, new errors."""
    data = json.dumps([view.get("id"), view.get("hash"), sorted(errors.items())])
    return hashlib.sha256(data.encode()).hexdigest()[:16]
