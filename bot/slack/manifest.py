"""The Slack app manifest, built for a given public URL (`whatconverts-slack manifest --base-url`).

`manifest.yml` in the repository is this manifest rendered for `PLACEHOLDER_BASE_URL`; a test
keeps the two identical.
"""

from __future__ import annotations

import yaml

from bot import ids

PLACEHOLDER_BASE_URL = "https://whatconverts-slack.example.com"

LONG_DESCRIPTION = (
    "WhatConverts for Slack posts every new WhatConverts lead (phone calls, web forms, chats, texts, "
    "transactions) to the channels you choose as a rich card, within seconds. Connect your WhatConverts "
    "account with /whatconverts connect, subscribe channels with filters by lead type, source and status, "
    "mark leads quotable or add their value from the card, and look leads up with /whatconverts leads. Admins run "
    "everything from the Home tab."
)


def build_manifest(base_url: str) -> dict:
    base = base_url.rstrip("/")
    events_url = base + ids.ROUTE_SLACK_EVENTS
    return {
        "display_information": {
            "name": "WhatConverts",
            "description": "WhatConverts leads in Slack: instant lead cards, filters per channel, actions.",
            "background_color": "#1d4f91",
            "long_description": LONG_DESCRIPTION,
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "WhatConverts", "always_online": True},
            "slash_commands": [
                {
                    "command": ids.COMMAND,
                    "url": events_url,
                    "description": "Connect WhatConverts, subscribe channels to leads, look leads up",
                    "usage_hint": "connect | subscribe #channel calls forms | leads today | status | help",
                    "should_escape": True,
                }
            ],
        },
        "oauth_config": {
            "redirect_urls": [base + ids.ROUTE_SLACK_OAUTH_REDIRECT],
            "scopes": {"bot": list(ids.BOT_SCOPES)},
        },
        "settings": {
            "event_subscriptions": {"request_url": events_url, "bot_events": list(ids.BOT_EVENTS)},
            "interactivity": {"is_enabled": True, "request_url": events_url},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": True,
        },
    }


def render_manifest(base_url: str) -> str:
    header = "# Slack app manifest. Regenerate with: whatconverts-slack manifest --base-url https://your.host\n"
    return header + yaml.safe_dump(build_manifest(base_url), sort_keys=False, width=110)
