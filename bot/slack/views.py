"""Modal pieces: inputs, selects and checkboxes within Slack's limits, and a submitted view's state read back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bot.slack.payloads import parse_id

MAX_OPTION_TEXT = 75


class ModalErrors(Exception):
    """What is wrong with a submission: block_id → short plain-text message, for `response_action="errors"`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{block}: {message}" for block, message in errors.items()))
        self.errors = errors


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def cut_to(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def option(value: str, label: str) -> dict:
    return {"text": plain(cut_to(label, MAX_OPTION_TEXT)), "value": value}


def input_block(block_id: str, label: str, element: dict, *, optional: bool, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "label": plain(label), "element": element, "optional": optional}
    if hint:
        block["hint"] = plain(hint)
    return block


def checkboxes(action_id: str, choices: Mapping[str, str], checked: Iterable[str]) -> dict:
    options = [option(value, label) for value, label in choices.items()]
    element: dict[str, Any] = {"type": "checkboxes", "action_id": action_id, "options": options}
    wanted = set(checked)
    if initial := [option for option in options if option["value"] in wanted]:
        element["initial_options"] = initial  # Slack refuses an empty list here
    return element


def select(action_id: str, choices: Mapping[str, str], selected: str | None, *, placeholder: str) -> dict:
    options = [option(value, label) for value, label in choices.items()]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder),
        "options": options,
    }
    if selected is not None:
        element["initial_option"] = options[list(choices).index(selected)]
    return element


def text_input(action_id: str, *, placeholder: str, initial: str = "", max_length: int | None = None) -> dict:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "placeholder": plain(placeholder)}
    if max_length is not None:
        element["max_length"] = max_length
    if initial:
        element["initial_value"] = initial
    return element


def metadata(view: Mapping[str, Any], fields: Mapping[str, type]) -> dict[str, Any]:
    """Our own private_metadata back; anything malformed is our bug, so ValueError, not a field error."""
    data = json.loads(view.get("private_metadata") or "null")
    if not isinstance(data, dict):
        raise ValueError("private_metadata is not an object")
    result = {}
    for name, kind in fields.items():
        value = data.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise ValueError(f"private_metadata {name} is not {kind.__name__}")
        if kind is int and value is not None and parse_id(str(value)) is None:
            raise ValueError(f"private_metadata {name} is not an id")
        result[name] = value
    return result


def state_of(view: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    # Slack shapes view["state"]["values"][block_id][action_id] by element type; missing means empty.
    values = (view.get("state") or {}).get("values") or {}
    return (values.get(block_id) or {}).get(action_id) or {}


def selected(view: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    option = state_of(view, block_id, action_id).get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def checked(view: Mapping[str, Any], block_id: str, action_id: str, choices: Mapping[str, str]) -> list[str]:
    """Checked values in the order of `choices`; an option we never offered is our bug."""
    options = state_of(view, block_id, action_id).get("selected_options") or []
    values = {option.get("value") for option in options if isinstance(option, dict)}
    if not values <= choices.keys():
        raise ValueError(f"unknown options {sorted(map(str, values - choices.keys()))}")
    return [value for value in choices if value in values]
