"""The App Home tab, where admins run everything: its view, its actions, the overview and the modals.

`overview` gathers what a workspace looks like once (also for `status` and `list`); `view` builds
the tab from it; `actions` is what its buttons and the subscription modal do; `modals` and
`modal_states` are the pure modal builders and submission readers, also used by the card's
"Add value" button.

May import: the edges, `bot.alerts`, `bot.connect`, `bot.commands` (saving a subscription is the
same code as `subscribe`), the root's shared modules and `storage`.
"""
