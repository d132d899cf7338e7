"""A lead's journey from WhatConverts to a Slack card, and every card after it.

poll (`poller`) or webhook (`webhooks`, `webhook_route`) → `routing` (which subscriptions match,
through `filters` and `overlap`) → the outbox (`storage.outbox`) → `delivery` (post at the
channel's pace) → `cards` → edits (`changes`), card buttons (`card_actions`), `digests` and
`quiet` hours.

May import: the edges (`bot.slack`, `bot.whatconverts`), `bot.connect`'s service (credentials,
DMs about a connection), the root's shared modules and `storage`. Message builders here
(`cards`, `digest_messages`, `changes`) are pure: plain data in, a payload out.
"""
