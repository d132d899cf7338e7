"""What Slack refuses in a Block Kit payload (platform truth S7), shared by the fake Slack and the test client.

slack_sdk's models know Slack's limits (3,000-character sections, 150-character headers, 75-character
buttons, 10 context elements, 100 blocks a view…), but `validate_json()` only checks the object it is
called on, and some of Slack's rules are not in them at all. So every block is built with slack_sdk and
every nested object it holds is validated, and the rules slack_sdk leaves out are added: text objects
of 1 to 3,000 characters (an empty section is refused), properties Slack doesn't know, block ids unique
in a message or view, action ids unique in a block, 50 blocks a message, plain text where Slack takes
nothing else. Errors read like Slack's own: `must be more than 0 characters [json-pointer:/blocks/0/text/text]`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, ConfirmObject, Option, OptionGroup
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
MESSAGE_TEXT = 40_000
TEXT_OBJECT = 3000
SECTION_FIELD = 2000
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage", "response_url")
VIEW_METHODS = ("views.publish", "views.open", "views.update", "views.push")

# slack_sdk builds these by hand and declares no attributes; the keys Slack takes.
_KEYS: dict[type, frozenset[str]] = {
    Option: frozenset({"text", "value", "description", "url"}),
    OptionGroup: frozenset({"label", "options"}),
    ConfirmObject: frozenset({"title", "text", "confirm", "deny", "style"}),
}
# Where Slack takes only plain text (a mrkdwn object there is refused).
_PLAIN_ONLY = {"header": ("text",), "button": ("text",), "input": ("label", "hint")}
_VIEW_PLAIN = ("title", "submit", "close")
_ACK_ACTIONS = ("errors", "update", "push", "clear")


class InvalidPayload(AssertionError):
    """A payload Slack would refuse; the message lists what Slack would say, one error a line."""


def message_errors(payload: Mapping[str, Any]) -> list[str]:
    """What Slack would refuse in a message's blocks (chat.*, response_url, a command's ack); [] if nothing."""
    if "blocks" not in payload or payload["blocks"] is None:
        return []
    blocks = payload["blocks"]
    if not isinstance(blocks, list):
        return ["must provide an array [json-pointer:/blocks]"]
    errors = [f"no more than {MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"] * (len(blocks) > MESSAGE_BLOCKS)
    return errors + _blocks_errors(blocks, "/blocks")


def view_errors(view: Any, pointer: str = "/view") -> list[str]:
    """What Slack would refuse in a Home tab or modal (views.*, a view submission's update or push)."""
    if not isinstance(view, Mapping):
        return [f"must provide an object [json-pointer:{pointer}]"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{pointer}/blocks]"]
    try:
        parsed = View(**copy.deepcopy(dict(view)))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return [f"{exc} [json-pointer:{pointer}]"]
    errors = _validated(parsed, pointer)
    errors += [
        f"invalid additional property: {k} [json-pointer:{pointer}]" for k in sorted(set(view) - View.attributes)
    ]
    for key in _VIEW_PLAIN:
        if key in view:
            errors += _text_errors(view[key], f"{pointer}/{key}", plain=True)
    if view.get("type") == "modal" and "submit" not in view and any(_is_type(b, "input") for b in blocks):
        errors.append(f"a modal with input blocks must have a submit button [json-pointer:{pointer}/submit]")
    return errors + _blocks_errors(blocks, f"{pointer}/blocks")


def ack_errors(body: Any) -> list[str]:
    """What Slack would refuse in the body of an HTTP ack: a command's reply or a `response_action`."""
    if not isinstance(body, Mapping):
        return []
    action = body.get("response_action")
    if action is None:
        errors = message_errors(body)
        text = body.get("text")
        if isinstance(text, str) and len(text) > MESSAGE_TEXT:
            errors.append(f"no more than {MESSAGE_TEXT} characters allowed [json-pointer:/text]")
        return errors
    if action not in _ACK_ACTIONS:
        return [f"unknown response_action {action!r} [json-pointer:/response_action]"]
    if action in ("update", "push"):
        return view_errors(body.get("view"))
    if action == "errors":
        found = body.get("errors")
        if not isinstance(found, Mapping) or not found:
            return ["must provide a non-empty object [json-pointer:/errors]"]
        return [f"must provide a string [json-pointer:/errors/{k}]" for k, v in found.items() if not isinstance(v, str)]
    return []


def request_errors(method: str, params: Mapping[str, Any]) -> list[str]:
    """What Slack would refuse in a Web API call or a response_url post (other methods: nothing)."""
    if method in MESSAGE_METHODS:
        return message_errors(params)
    if method in VIEW_METHODS and isinstance(params.get("view"), Mapping):
        return view_errors(params["view"])
    return []


def require_valid(errors: list[str], what: str) -> None:
    """Raise :class:`InvalidPayload` naming `what` when Slack would refuse it."""
    if errors:
        raise InvalidPayload(f"Slack would refuse {what}:\n" + "\n".join(errors))


def _is_type(block: Any, kind: str) -> bool:
    return isinstance(block, Mapping) and block.get("type") == kind


def _blocks_errors(blocks: list[Any], pointer: str) -> list[str]:
    errors: list[str] = []
    block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        here = f"{pointer}/{i}"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
            errors.append(f"must provide an object with a type [json-pointer:{here}]")
            continue
        try:
            block = Block.parse(copy.deepcopy(dict(raw)))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            errors.append(f"{exc} [json-pointer:{here}]")
            continue
        if block is None:
            errors.append(f"unknown block type {raw['type']!r} [json-pointer:{here}/type]")
            continue
        errors += _object_errors(raw, block, here)
        errors += _slack_rules(raw, here)
        block_id = raw.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{here}/block_id]")
            block_ids.add(block_id)
    return errors


def _validated(obj: JsonObject, pointer: str) -> list[str]:
    try:
        obj.validate_json()
    except SlackObjectFormationError as exc:
        return [f"{exc} [json-pointer:{pointer}]"]
    return []


def _object_errors(raw: Mapping[str, Any], obj: JsonObject, pointer: str) -> list[str]:
    """slack_sdk's validators on `obj` and everything nested in it, and properties Slack doesn't know."""
    errors = _validated(obj, pointer)
    known = _KEYS.get(type(obj)) or frozenset(obj.attributes)
    if known:
        extra = sorted(set(raw) - known - {"type"})
        errors += [f"invalid additional property: {key} [json-pointer:{pointer}/{key}]" for key in extra]
    for key, value in raw.items():
        child = getattr(obj, key, None) if key in known else None
        if isinstance(value, Mapping):
            errors += _child_errors(value, child, f"{pointer}/{key}")
        elif isinstance(value, list) and isinstance(child, list) and len(child) == len(value):
            for j, (item, parsed) in enumerate(zip(value, child, strict=True)):
                if isinstance(item, Mapping):
                    errors += _child_errors(item, parsed, f"{pointer}/{key}/{j}")
    return errors


def _child_errors(raw: Mapping[str, Any], child: Any, pointer: str) -> list[str]:
    if isinstance(child, JsonObject):
        return _object_errors(raw, child, pointer)
    if child is None and "type" in raw:
        return [f"unknown element type {raw['type']!r} [json-pointer:{pointer}/type]"]
    return []


def _slack_rules(raw: Any, pointer: str) -> list[str]:
    """The rules slack_sdk leaves out, over the raw JSON of one block."""
    errors: list[str] = []
    for node, here in _walk(raw, pointer):
        kind = node.get("type")
        if kind in ("plain_text", "mrkdwn"):
            errors += _text_errors(node, here, plain=False)
        for key in _PLAIN_ONLY.get(kind, ()):
            if isinstance(node.get(key), Mapping) and node[key].get("type") != "plain_text":
                errors.append(f"must be a plain_text object [json-pointer:{here}/{key}/type]")
        if kind == "section":
            for j, item in enumerate(node.get("fields") or []):
                text = item.get("text") if isinstance(item, Mapping) else None
                if isinstance(text, str) and len(text) > SECTION_FIELD:
                    errors.append(f"must be less than {SECTION_FIELD + 1} characters [json-pointer:{here}/fields/{j}]")
    errors += _duplicate_action_ids(raw, pointer)
    return errors


def _text_errors(node: Any, pointer: str, *, plain: bool) -> list[str]:
    if not isinstance(node, Mapping):
        return [f"must provide an object [json-pointer:{pointer}]"]
    if plain and node.get("type") != "plain_text":
        return [f"must be a plain_text object [json-pointer:{pointer}/type]"]
    text = node.get("text")
    if not isinstance(text, str):
        return [f"must provide a string [json-pointer:{pointer}/text]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > TEXT_OBJECT:
        return [f"must be less than {TEXT_OBJECT + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _duplicate_action_ids(block: Any, pointer: str) -> list[str]:
    seen: set[str] = set()
    errors = []
    for node, here in _walk(block, pointer):
        action_id = node.get("action_id")
        if isinstance(action_id, str):
            if action_id in seen:
                errors.append(f"duplicate action_id {action_id!r} [json-pointer:{here}/action_id]")
            seen.add(action_id)
    return errors


def _walk(node: Any, pointer: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every object in `node`, with its JSON pointer, depth first."""
    if isinstance(node, Mapping):
        yield node, pointer
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{i}")
