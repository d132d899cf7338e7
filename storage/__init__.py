"""Persistence: SQLModel tables, engine and sessions, encrypted columns and migrations.

Nothing here imports Slack or `bot/`; functions take a session, flush, and leave the
transaction to the caller.
"""
