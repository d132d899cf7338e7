"""manifest.yml validates against Slack's published schema and matches what the CLI renders."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot import ids
from bot.cli import main
from bot.slack.manifest import PLACEHOLDER_BASE_URL, render_manifest

ROOT = Path(__file__).resolve().parents[2]
# A vendored copy of slackapi/manifest-schema (MIT, license beside it), identical to ../shared/slack/.
SCHEMA = ROOT / "tests" / "data" / "manifest.schema.1.0.0.json"


def _errors(manifest: dict) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(manifest)]


def test_manifest_yml_validates_against_the_schema() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert _errors(manifest) == []
    assert manifest["settings"]["token_rotation_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == set(ids.BOT_EVENTS)
    assert manifest["features"]["slash_commands"][0]["command"] == "/whatconverts"


def test_schema_rejects_what_slack_would() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    manifest["features"]["slash_commands"][0]["command"] = "whatconverts"
    manifest["settings"]["surprise"] = True
    assert len(_errors(manifest)) == 2


def test_manifest_yml_is_the_rendered_manifest() -> None:
    assert (ROOT / "manifest.yml").read_text() == render_manifest(PLACEHOLDER_BASE_URL)


def test_cli_fills_in_the_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--base-url", "https://leads.example.org/"]) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    assert _errors(manifest) == []
    assert manifest["oauth_config"]["redirect_urls"] == ["https://leads.example.org/slack/oauth_redirect"]
    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["features"]["slash_commands"][0]["url"],
    ]
    assert urls == ["https://leads.example.org/slack/events"] * 3
