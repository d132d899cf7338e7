"""Alembic migrations; run them with `whatconverts-slack migrate`."""
