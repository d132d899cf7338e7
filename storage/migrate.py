"""Schema management: `alembic upgrade head` from code, and a drift check for tests and operators."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in URL-encoded passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`. Blocking: call from a thread inside an event loop."""
    command.upgrade(alembic_config(database_url), revision)


@functools.cache
def _scripts() -> ScriptDirectory:
    # Reading the migration scripts takes a good fraction of a second: once per process.
    return ScriptDirectory.from_config(alembic_config(""))


def head() -> str:
    """The newest migration this code knows."""
    revision = _scripts().get_current_head()
    assert revision is not None
    return revision


def pending(current: str | None) -> list[tuple[str, str]]:
    """What `upgrade` to head applies to a database at `current`: (revision, what it does), oldest first."""
    scripts = list(_scripts().iterate_revisions(head(), current or "base"))
    return [(script.revision, script.doc) for script in reversed(scripts)]


def is_behind(current: str | None) -> bool:
    """Does a database at `current` (None: nothing applied) need `migrate` before this code can use it?

    A revision this code doesn't know comes from a newer release that has migrated already (a
    rolling deploy): instances still on this code are on their way out and are not stopped for it.
    """
    if current is None or current == head():
        return current is None
    try:
        _scripts().get_revision(current)
    except CommandError:
        return False
    return True


def revision(database_url: str, message: str, rev_id: str) -> None:
    """Autogenerate a new migration against an up-to-date database (developer tool)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True, rev_id=rev_id)
