"""A Slack modal view → HTML for the sandbox page: title bar, live form fields, Cancel and Submit.

Input blocks become real form controls, each wrapped in an element carrying `data-block-id`,
`data-action-id` and `data-type`, so the page can read what was typed and send it back;
`bot.sandbox.views.state_values` turns that into Slack's `view.state.values`. Every other block
goes through the message renderer, so a modal looks like the rest of the page. Same rule as
`bot.sandbox.render`: every piece of text is escaped exactly once, and only markup built here is
emitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.sandbox.render import NO_NAMES, Names, attr, block_to_html, plain_to_html, text_object_html

__all__ = ["VIEW_STYLE", "view_to_html"]

TEXT_TYPES = {
    "plain_text_input": "text",
    "email_text_input": "email",
    "url_text_input": "url",
    "number_input": "number",
    "datepicker": "date",
    "timepicker": "time",
}
SELECT_TYPES = frozenset({"static_select", "multi_static_select"})
CHANNEL_TYPES = frozenset(
    {"conversations_select", "channels_select", "multi_conversations_select", "multi_channels_select"}
)
USER_TYPES = frozenset({"users_select", "multi_users_select"})
CHOICE_TYPES = frozenset({"checkboxes", "radio_buttons"})
# Where each element keeps its initial value, as Block Kit names it.
INITIAL = {
    "plain_text_input": "initial_value",
    "email_text_input": "initial_value",
    "url_text_input": "initial_value",
    "number_input": "initial_value",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
    "conversations_select": "initial_conversation",
    "channels_select": "initial_channel",
    "users_select": "initial_user",
    "multi_conversations_select": "initial_conversations",
    "multi_channels_select": "initial_channels",
    "multi_users_select": "initial_users",
}


def options_of(element: Mapping[str, Any]) -> list[dict]:
    """An element's options, `option_groups` flattened; malformed entries left out."""
    found = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            found += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return found


def _initial_values(element: Mapping[str, Any]) -> set[str]:
    """The values an element starts with, whatever its type keeps them in."""
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        option = element.get("initial_option")
        return {str(option.get("value"))} if isinstance(option, dict) else set()
    if kind in ("multi_static_select", "checkboxes"):
        return {str(o.get("value")) for o in element.get("initial_options") or [] if isinstance(o, dict)}
    initial = element.get(INITIAL.get(str(kind), ""))
    if isinstance(initial, list):
        return {str(v) for v in initial}
    return {str(initial)} if isinstance(initial, str | int | float) and initial != "" else set()


def _control_attrs(block_id: str, element: Mapping[str, Any]) -> str:
    return (
        f'data-block-id="{attr(block_id)}" data-action-id="{attr(element.get("action_id"))}" '
        f'data-type="{attr(element.get("type"))}"'
    )


def _placeholder(element: Mapping[str, Any]) -> str:
    placeholder = element.get("placeholder")
    text = placeholder.get("text") if isinstance(placeholder, dict) else None
    return attr(text if isinstance(text, str) else "")


def _text_control(element: Mapping[str, Any], field_id: str) -> str:
    kind = str(element.get("type"))
    value = next(iter(_initial_values(element)), "")
    common = f'id="{field_id}" class="slack-text-input" placeholder="{_placeholder(element)}"'
    if isinstance(element.get("max_length"), int):
        common += f' maxlength="{element["max_length"]}"'
    if kind == "plain_text_input" and element.get("multiline"):
        return f"<textarea {common} rows=4>{plain_to_html(value, emoji=False)}</textarea>"
    if kind == "number_input" and element.get("is_decimal_allowed"):
        common += ' step="any"'
    return f'<input type="{TEXT_TYPES[kind]}" {common} value="{attr(value)}">'


def _select_control(element: Mapping[str, Any], field_id: str, choices: Iterable[tuple[str, str]]) -> str:
    kind = str(element.get("type"))
    chosen = _initial_values(element)
    multiple = kind.startswith("multi_")
    items = [] if multiple else [f'<option value="">{_placeholder(element) or "Select an item"}</option>']
    for value, label in choices:
        selected = " selected" if value in chosen else ""
        items.append(f'<option value="{attr(value)}"{selected}>{label}</option>')
    size = " multiple size=4" if multiple else ""
    return f'<select id="{field_id}" class="slack-select"{size}>{"".join(items)}</select>'


def _choice_control(element: Mapping[str, Any], field_id: str, names: Names) -> str:
    kind = "checkbox" if element.get("type") == "checkboxes" else "radio"
    chosen = _initial_values(element)
    rows = []
    for i, option in enumerate(options_of(element)):
        value = str(option.get("value") or "")
        checked = " checked" if value in chosen else ""
        description = text_object_html(option.get("description"), names)
        note = f'<span class="slack-hint">{description}</span>' if description else ""
        rows.append(
            f'<label class="slack-choice"><input type="{kind}" name="{field_id}" id="{field_id}-{i}" '
            f'value="{attr(value)}"{checked}><span>{text_object_html(option.get("text"), names)}{note}</span></label>'
        )
    return "".join(rows)


def _control(element: Mapping[str, Any], field_id: str, names: Names) -> str | None:
    kind = element.get("type")
    if kind in TEXT_TYPES:
        return _text_control(element, field_id)
    if kind in SELECT_TYPES:
        choices = [(str(o.get("value") or ""), text_object_html(o.get("text"), names)) for o in options_of(element)]
        return _select_control(element, field_id, choices)
    if kind in CHANNEL_TYPES:
        channels = sorted(names.channels.items(), key=lambda item: item[1])
        return _select_control(element, field_id, ((cid, plain_to_html("# " + name)) for cid, name in channels))
    if kind in USER_TYPES:
        users = sorted(names.users.items(), key=lambda item: item[1])
        return _select_control(element, field_id, ((uid, plain_to_html(name)) for uid, name in users))
    if kind in CHOICE_TYPES:
        return _choice_control(element, field_id, names)
    return None


def _input_block(block: Mapping[str, Any], index: int, error: str | None, names: Names) -> str:
    element = block.get("element")
    element = element if isinstance(element, dict) else {}
    block_id = block.get("block_id") if isinstance(block.get("block_id"), str) else ""
    field_id = f"field-{index}"
    control = _control(element, field_id, names)
    if control is None:
        control = f'<div class="slack-hint">({attr(element.get("type"))} is not shown in the sandbox)</div>'
    optional = ' <span class="slack-optional">(optional)</span>' if block.get("optional") else ""
    hint = text_object_html(block.get("hint"), names)
    parts = [
        f'<div class="slack-input{" has-error" if error else ""}">',
        f'<label class="slack-label" for="{field_id}">{text_object_html(block.get("label"), names)}{optional}</label>',
        f'<div class="slack-control" {_control_attrs(str(block_id), element)}>{control}</div>',
        f'<div class="slack-error" role="alert">{plain_to_html(error)}</div>' if error else "",
        f'<div class="slack-hint">{hint}</div>' if hint else "",
        "</div>",
    ]
    return "".join(parts)


def view_to_html(view: Mapping[str, Any], *, errors: Mapping[str, str] | None = None, names: Names = NO_NAMES) -> str:
    """A modal as HTML: inputs as live fields (errors under theirs), other blocks as in messages."""
    errors = errors or {}
    view_id = view.get("id") if isinstance(view.get("id"), str) else ""
    # Errors not under an input (key ""): Slack's own, e.g. when the app didn't answer in time.
    body = [f'<div class="slack-modal-problem" role="alert">{plain_to_html(errors[""])}</div>'] if "" in errors else []
    for index, block in enumerate(view.get("blocks") or []):
        if isinstance(block, dict) and block.get("type") == "input":
            body.append(_input_block(block, index, errors.get(str(block.get("block_id"))), names))
        else:
            body.append(block_to_html(block, message_id=f"view:{view_id}", names=names))
    close = text_object_html(view.get("close"), names) or "Cancel"
    buttons = f'<button type="button" class="slack-button" data-modal="close">{close}</button>'
    if submit := text_object_html(view.get("submit"), names):
        buttons += f'<button type="button" class="slack-button primary" data-modal="submit">{submit}</button>'
    return (
        f'<div class="slack-modal" role="dialog" aria-modal="true" data-view-id="{attr(view_id)}">'
        '<div class="slack-modal-head">'
        f'<h2 class="slack-modal-title">{text_object_html(view.get("title"), names)}</h2>'
        '<button type="button" class="slack-modal-x" data-modal="close" aria-label="Close">&times;</button></div>'
        f'<div class="slack-modal-body slack-message">{"".join(body)}</div>'
        f'<div class="slack-modal-foot">{buttons}</div></div>'
    )


VIEW_STYLE = """\
.slack-modal { background: #fff; border-radius: 8px; width: 520px; max-width: calc(100vw - 32px);
  max-height: calc(100vh - 64px); display: flex; flex-direction: column; box-shadow: 0 18px 48px rgba(0,0,0,.35); }
.slack-modal-head { display: flex; align-items: center; padding: 18px 24px 10px; }
.slack-modal-title { flex: 1; font-size: 22px; font-weight: 900; margin: 0; }
.slack-modal-x { border: 0; background: none; font-size: 26px; line-height: 1; color: #616061; cursor: pointer; }
.slack-modal-body { padding: 6px 24px 12px; overflow: auto; }
.slack-modal-foot { display: flex; justify-content: flex-end; gap: 12px; padding: 16px 24px;
  border-top: 1px solid #e1e1e1; }
.slack-modal-foot .slack-button { font-size: 15px; padding: 6px 16px; }
.slack-modal .slack-input { margin: 14px 0; }
.slack-label { display: block; font-weight: 700; margin-bottom: 6px; }
.slack-optional { font-weight: 400; color: #616061; }
.slack-text-input, .slack-select { box-sizing: border-box; width: 100%; font: inherit; padding: 8px 10px;
  border: 1px solid rgba(29,28,29,.3); border-radius: 4px; background: #fff; }
.slack-text-input:focus, .slack-select:focus { outline: none; border-color: #1264a3;
  box-shadow: 0 0 0 3px rgba(29,155,209,.3); }
.slack-input .slack-choice { display: flex; gap: 8px; align-items: flex-start; margin: 4px 0; font-weight: 400; }
.slack-choice .slack-hint { display: block; }
.slack-hint { color: #616061; font-size: 13px; margin-top: 4px; }
.slack-modal-problem { background: #fdf0f4; border: 1px solid #e01e5a; border-radius: 4px; padding: 8px 12px;
  margin: 8px 0; }
.slack-error { color: #e01e5a; font-size: 13px; margin-top: 4px; }
.has-error .slack-text-input, .has-error .slack-select { border-color: #e01e5a; }
"""
