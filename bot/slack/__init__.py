"""The Slack edge: everything that knows how Slack works, and nothing about leads or subscriptions.

Owns the Bolt app builder, the installation and OAuth-state stores, the bot-token service (rotation,
refresh, revocation), Slack's error vocabulary, request signatures, the redelivery middleware, the
after-ack error boundary, payload parsing into typed objects, permissions, the workspace lifecycle,
the manifest, mrkdwn escaping and the limit-safe Block Kit pieces.

May import: the root's shared modules (`config`, `errors`, `ids`, `metrics`, `logs`, `services`),
`storage`, and Slack's SDKs. Never `alerts`, `commands`, `home` or `connect`: those build on this
edge, not the other way round (tests/test_layout.py checks it).
"""
