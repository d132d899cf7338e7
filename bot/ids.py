"""Every route path, action_id, callback_id and block_id, named once.

Builders and `register()` functions both import from here so a renamed id can't drift apart.
"""

from __future__ import annotations

COMMAND = "/whatconverts"

# Routes (DESIGN.md, "HTTP routes"; fixed).
ROUTE_SLACK_EVENTS = "/slack/events"
ROUTE_SLACK_INSTALL = "/slack/install"
ROUTE_SLACK_OAUTH_REDIRECT = "/slack/oauth_redirect"
ROUTE_WC_CONNECT = "/whatconverts/connect"
ROUTE_WC_OAUTH_CALLBACK = "/whatconverts/oauth/callback"
ROUTE_WC_WEBHOOK = "/whatconverts/webhook/{token}"
ROUTE_HEALTHZ = "/healthz"
ROUTE_READYZ = "/readyz"
ROUTE_METRICS = "/metrics"

# Least privilege: each scope's reason is in README.md ("Bot scopes").
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:read",
    "groups:read",
    "users:read",
)

BOT_EVENTS = ("app_home_opened", "app_uninstalled", "tokens_revoked")

# Action ids (block_actions).
ACTION_CONNECT_LINK = "connect_link"
ACTION_DISCONNECT_CONFIRM = "disconnect_confirm"
ACTION_DISCONNECT_CANCEL = "disconnect_cancel"

# Lead card buttons
ACTION_LEAD_QUOTABLE = "lead_quotable"
ACTION_LEAD_NOT_QUOTABLE = "lead_not_quotable"
ACTION_LEAD_VALUE = "lead_value"
ACTION_LEAD_SPAM = "lead_spam"
BLOCK_LEAD_ACTIONS = "lead_actions"
