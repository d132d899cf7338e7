"""The redaction filter and the JSON log format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, Redactor, setup_logging


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("token xoxb-123-456-abcdef in text", "xoxb-123-456-abcdef"),
        ("rotation xoxe-1-abcdef0123 and xoxe.xoxb-1-zz", "xoxe-1-abcdef0123"),
        ("GET /oauth?code=abc123secretcode&state=s1 200", "abc123secretcode"),
        ("body_params: {'client_secret': 'shh-it-is-secret', 'code': ['c0de-value']}", "shh-it-is-secret"),
        ("body_params: {'client_secret': 'shh-it-is-secret', 'code': ['c0de-value']}", "c0de-value"),
        ('{"refresh_token": "rt-abcdefgh", "ok": true}', "rt-abcdefgh"),
        ("headers {'Authorization': 'Basic dG9rZW46c2VjcmV0'}", "dG9rZW46c2VjcmV0"),
        ("headers {'Authorization': 'Bearer some.jwt.value'}", "some.jwt.value"),
        ("form api_secret=wc-secret-value&label=x", "wc-secret-value"),
    ],
)
def test_patterns_redact_secrets(line: str, secret: str) -> None:
    redacted = Redactor().redact(line)
    assert secret not in redacted
    assert REDACTED in redacted


def test_registered_literal_secrets_are_redacted_and_short_ones_ignored() -> None:
    redactor = Redactor(["a-very-literal-secret", "short"])
    assert redactor.redact("x a-very-literal-secret y short") == f"x {REDACTED} y short"


def test_tracebacks_and_args_are_redacted(restore_root: None) -> None:
    stream = io.StringIO()
    setup_logging(level="DEBUG", fmt="text", stream=stream)
    log = logging.getLogger("test.redaction")
    try:
        raise RuntimeError("failed with xoxb-999-leaky-token")
    except RuntimeError:
        log.exception("refresh for %s", "xoxp-888-user-token")
    output = stream.getvalue()
    assert "xoxb-999" not in output and "xoxp-888" not in output
    assert "RuntimeError" in output


def test_json_format_is_one_object_per_line(restore_root: None) -> None:
    stream = io.StringIO()
    setup_logging(level="INFO", fmt="json", stream=stream)
    logging.getLogger("test.json").info("first line\nsecond xoxb-1-2-3 line")
    logging.getLogger("test.json").debug("not at INFO")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "INFO" and entry["logger"] == "test.json"
    assert entry["message"] == f"first line\nsecond {REDACTED} line"
