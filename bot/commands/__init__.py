"""The `/whatconverts` subcommands about subscriptions and leads, with their pure message builders.

Owns the subcommand table and its parser (`table`), `subscribe`/`unsubscribe`/`list`
(`subscribe`), `leads`/`stats`/`test` (`leads`) and `help`. The connect subcommands live in
`bot.connect`; they register in the same table.

May import: the edges, `bot.alerts` (filters, cards, overlap), `bot.connect`, the root's shared
modules and `storage` (through its functions; no SQL here).
"""
