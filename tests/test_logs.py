"""The redaction filter and the JSON log format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

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


WEBHOOK_TOKEN = "Zq3_x-9LmN0pQrStUvWxYz0123456789abcdefGHIJK"
WEBHOOK = f"https://wcs.test/whatconverts/webhook/{WEBHOOK_TOKEN}"
SLACK_HOOK = "https://hooks.slack.com/commands/T0123ABC/4567890123/Xyz0AbCdEfGhIjKlMnOp"


def escaped(url: str, times: int = 1) -> str:
    """`url` as JSON writes it with escaped slashes, once or JSON inside JSON."""
    for _ in range(times):
        url = url.replace("\\", "\\\\").replace("/", "\\/")
    return url


@pytest.mark.parametrize(
    "line",
    [
        f"reply text: 'Webhook URL: ```{WEBHOOK}```\\n_In WhatConverts_'",
        f'HTTP Request: POST http://127.0.0.1:8080/whatconverts/webhook/{WEBHOOK_TOKEN} "HTTP/1.1 200 OK"',
        f'{{"text": "{escaped(WEBHOOK)}"}}',
        f"{{'blocks': '[{{\"text\": \"{escaped(WEBHOOK, 2)}\"}}]'}}",
        f"url={quote(WEBHOOK, safe='')}&x=1",
        f"payload=%7B%22url%22%3A%22{quote(quote(WEBHOOK, safe=''), safe='')}%22",
        f"<{WEBHOOK}|your webhook>",
    ],
)
def test_webhook_url_tokens_are_redacted(line: str) -> None:
    redacted = Redactor().redact(line)
    assert "9LmN0pQrSt" not in redacted
    assert "webhook" in redacted and REDACTED in redacted  # the kind of URL still shows


@pytest.mark.parametrize(
    "line",
    [
        f"Sending a request - url: {SLACK_HOOK}, body: {{}}",
        f"response_url={quote(SLACK_HOOK, safe='')}&trigger_id=1.2.3",
        f"response_url: {SLACK_HOOK}",
        f'{{"response_url": "{escaped(SLACK_HOOK)}"}}',
        f'{{"url": "{escaped(SLACK_HOOK, 2)}"}}',
        f"body: {{'response_url': ['{SLACK_HOOK}']}}",
        f"payload={quote(json.dumps({'response_url': SLACK_HOOK}), safe='')}",
        f"payload={quote(json.dumps({'response_url': SLACK_HOOK.replace('commands', 'actions')}), safe='')}",
    ],
)
def test_slack_response_urls_are_redacted(line: str) -> None:
    redacted = Redactor().redact(line)
    assert "Xyz0AbCdEf" not in redacted and "4567890123" not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f"POST https://wcs.test/whatconverts/webhook/{WEBHOOK_TOKEN} 200",
            f"POST https://wcs.test/whatconverts/webhook/{REDACTED} 200",
        ),
        (
            f"url: {SLACK_HOOK}, body: {{}}",
            f"url: https://hooks.slack.com/{REDACTED}, body: {{}}",
        ),
        (
            "url: http://127.0.0.1:40123/hooks/T1/1/abc, body: {}",
            f"url: http://127.0.0.1:40123/hooks/{REDACTED}, body: {{}}",
        ),
        (
            "response_url=http%3A%2F%2F127.0.0.1%3A40123%2Fhooks%2FT1%2F1%2Fabc&trigger_id=1.2",
            f"response_url={REDACTED}&trigger_id=1.2",
        ),
        (
            f"json: {{'text': '{escaped('http://127.0.0.1:40123/hooks/T1/1/abc')}'}}",
            f"json: {{'text': '{escaped('http://127.0.0.1:40123/hooks/')}{REDACTED}'}}",
        ),
    ],
)
def test_url_secrets_are_cut_after_their_prefix(line: str, expected: str) -> None:
    assert Redactor().redact(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Route(path='/whatconverts/webhook/{token}', methods=['POST'])",
        "webhook received for connection 4: 1 new lead",
        "installing git hooks/pre-commit from /repo/.git/hooks/pre-commit",
        "see https://api.slack.com/interactivity/handling#message_responses for response URLs",
        "url: http://127.0.0.1:40123/api/chat.postMessage, params: {}",
        "{'ok': True, 'view': {'id': 'V1', 'state': {'values': {}}, 'hash': 'h'}}",
    ],
)
def test_ordinary_text_is_left_alone(line: str) -> None:
    assert Redactor().redact(line) == line


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
