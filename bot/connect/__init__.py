"""Connecting WhatConverts accounts to a workspace, and keeping them connected.

Owns the connect service (links, API-key and OAuth completion, credentials, labels, owners), the
`connect`/`disconnect`/`status`/`quota`/`webhook`/`connection` subcommands, the web form and OAuth
callback, their pure message builders, and keeping a key's scope current as agencies add accounts.

May import: the edges (`bot.slack`, `bot.whatconverts`), the root's shared modules, `storage`, and
the few alert and Home pieces a status reply shows (the webhook URL, the workspace overview).
"""
