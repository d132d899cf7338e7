"""JSON from outside (webhook posts, WhatConverts answers), decoded so one odd value can't fail a body.

`json.loads` has two ways to fail on a body that is valid JSON: an integer literal past Python's
4,300-digit limit (a CPU guard) raises ValueError for the whole body, and deep nesting raises
RecursionError. Here the first keeps the number as a `Decimal` (the lead parser then calls that
field unreadable and keeps the rest), and nesting is refused as ValueError, deeper than asked.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

DIGITS_LIMIT = 4300  # sys.get_int_max_str_digits() by default


def _int(literal: str) -> int | Decimal:
    return int(literal) if len(literal.lstrip("-")) <= DIGITS_LIMIT else Decimal(literal)


def loads(raw: bytes | str, *, max_depth: int | None = None) -> Any:
    """The decoded body; ValueError when it isn't JSON or nests deeper than `max_depth` containers."""
    try:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise
        except ValueError:  # only an integer past the digit limit gets here
            data = json.loads(raw, parse_int=_int)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if max_depth is not None and depth(data) > max_depth:
        raise ValueError("JSON nested too deeply")
    return data


def depth(data: Any) -> int:
    """How many objects/arrays deep `data` goes (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest
