"""Every route path, action_id, callback_id and block_id, named once.

Builders and `register()` functions both import from here so a renamed id can't drift apart.
"""

from __future__ import annotations

COMMAND = "/whatconverts"

# Routes (DESIGN.md, "HTTP routes"; fixed).
ROUTE_LANDING = "/"
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
ACTION_LEAD_SPAM = "lead_spam"  # no longer on cards (W1); older cards still carry it
# Speed to lead: take a lead from its card, give it back, or hand it to someone (a users_select).
ACTION_LEAD_CLAIM = "lead_claim"
ACTION_LEAD_RELEASE = "lead_release"
ACTION_LEAD_HAND_OVER = "lead_hand_over"
BLOCK_LEAD_ACTIONS = "lead_actions"

# App Home buttons
ACTION_HOME_CONNECT = "home_connect"
ACTION_HOME_RECONNECT = "home_reconnect"
ACTION_HOME_CONNECTION_PAUSE = "home_connection_pause"
ACTION_HOME_CONNECTION_RESUME = "home_connection_resume"
ACTION_HOME_DISCONNECT = "home_disconnect"
ACTION_HOME_WEBHOOK_ROTATE = "home_webhook_rotate"
ACTION_HOME_SUB_ADD = "home_sub_add"
ACTION_HOME_SUB_EDIT = "home_sub_edit"
ACTION_HOME_SUB_PAUSE = "home_sub_pause"
ACTION_HOME_SUB_RESUME = "home_sub_resume"
ACTION_HOME_SUB_REMOVE = "home_sub_remove"
ACTION_HOME_SUB_TEST = "home_sub_test"

# Modals
VIEW_SUBSCRIPTION = "subscription_modal"
VIEW_LEAD_VALUE = "lead_value_modal"
# Shown while work after the ack fills a modal or saves its submission (S6: the modal can't wait).
VIEW_LOADING = "loading_modal"
VIEW_SAVING = "saving_modal"
BLOCK_SUB_CONNECTION = "sub_connection"
ACTION_SUB_CONNECTION = "sub_connection_select"
BLOCK_SUB_CHANNEL = "sub_channel"
ACTION_SUB_CHANNEL = "sub_channel_select"
BLOCK_SUB_TYPES = "sub_types"
ACTION_SUB_TYPES = "sub_types_checks"
BLOCK_SUB_INCLUDE_SOURCES = "sub_include_sources"
ACTION_SUB_INCLUDE_SOURCES = "sub_include_sources_input"
BLOCK_SUB_EXCLUDE_SOURCES = "sub_exclude_sources"
ACTION_SUB_EXCLUDE_SOURCES = "sub_exclude_sources_input"
BLOCK_SUB_STATUS = "sub_status"
ACTION_SUB_STATUS = "sub_status_select"
BLOCK_SUB_QUOTABLE = "sub_quotable"
ACTION_SUB_QUOTABLE = "sub_quotable_checks"
BLOCK_SUB_OPTIONS = "sub_options"
ACTION_SUB_OPTIONS = "sub_options_checks"
BLOCK_SUB_KEPT = "sub_kept"
BLOCK_VALUE_QUOTE = "value_quote"
ACTION_VALUE_QUOTE = "value_quote_input"
BLOCK_VALUE_SALES = "value_sales"
ACTION_VALUE_SALES = "value_sales_input"
