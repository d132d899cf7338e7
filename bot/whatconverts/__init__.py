"""The WhatConverts edge: everything that knows how WhatConverts works, and nothing about Slack.

Owns the REST client (pooling, pacing, errors as a closed vocabulary), the OAuth client, the `Lead`
model and the one parser that absorbs the API's quirks, tolerant JSON decoding, a key's identity and
scope, daily-quota arithmetic, and where things are in the WhatConverts web app.

May import: the root's shared modules (`config`, `errors`, `ids`), `storage`, and httpx/Authlib.
Never `alerts`, `commands`, `home` or `connect` (tests/test_layout.py checks it).
"""
