"""The subcommands of `whatconverts-slack` (serve, worker, demo, migrate, manifest, gen-key,
rotate-keys), their parser, and how a run ends (`run`). `bot.cli` is the console script's entry."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import textwrap
from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.cli import interrupts, listen
from bot.cli.help import COMMANDS, WIDTH, epilog
from bot.config import SLACK_REQUIRED, ConfigError, Settings, load_settings
from bot.ids import ROUTE_SLACK_INSTALL
from bot.logs import Redactor, setup_logging

EXIT_CONFIG = 2
EXIT_REFUSED = 1  # ran, but refused: nothing was changed
EXIT_INTERRUPTED = 130

log = logging.getLogger(__name__)


def _settings(*required: str) -> Settings:
    return load_settings(required=required)


def _logging(settings: Settings) -> Redactor:
    return setup_logging(level=settings.log_level, fmt=settings.log_format)


def _refused(message: object) -> int:
    print(message, file=sys.stderr)
    return EXIT_REFUSED


def _database_refused(settings: Settings) -> bool:
    """Check the database before starting: one line and a refusal rather than a failing tick a second.

    SQLite is left to the process itself, which migrates it at start (it owns the file).
    """
    from storage.health import DatabaseNotReady, require_ready

    if settings.is_sqlite:
        return False
    try:
        asyncio.run(require_ready(settings.database_url))
    except DatabaseNotReady as exc:
        print(exc, file=sys.stderr)
        return True
    return False


def _announce(settings: Settings, host: str, port: int) -> None:
    """Where to install from, and the mistake that makes Slack refuse it: a base URL that isn't https."""
    log.info("listening on %s:%d", host, port)
    log.info("install at %s%s", settings.app_base_url, ROUTE_SLACK_INSTALL)
    if not settings.app_base_url.startswith("https://"):
        log.warning(
            "APP_BASE_URL is %s, not https: Slack needs https for its request URLs and the install "
            "redirect. Set APP_BASE_URL to this app's public https URL (README: Create the Slack app)",
            settings.app_base_url,
        )


def cmd_serve(args: argparse.Namespace) -> int:
    with interrupts.deferred():
        import uvicorn

        from bot.app import create_app, settle_heap

        settings = _settings(*SLACK_REQUIRED)
        redactor = _logging(settings)
        if _database_refused(settings):
            return EXIT_REFUSED
        port = args.port or settings.port
        try:
            sock = listen.bind(args.host, port)
        except listen.CannotListen as exc:
            return _refused(exc)
        app = create_app(settings, run_scheduler=not args.no_scheduler, redactor=redactor)
        settle_heap()
    with sock:
        _announce(settings, args.host, port)
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    with interrupts.deferred():
        from bot.app import build_services, settle_heap
        from bot.scheduler import build_scheduler
        from storage import migrate

        settings = _settings(*SLACK_REQUIRED)
        redactor = _logging(settings)
        if _database_refused(settings):
            return EXIT_REFUSED

    async def run() -> None:
        # Signals first: a Ctrl-C while starting lets the step under way finish (a migration is
        # never cut short), then stops cleanly. A second one gives up waiting.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        services = build_services(settings, redactor=redactor)
        await services.start()
        try:
            if settings.is_sqlite:
                await asyncio.to_thread(migrate.upgrade, settings.database_url)
            if stop.is_set():
                return
            scheduler = build_scheduler(services)
            scheduler.start()
            settle_heap()
            try:
                await stop.wait()
            finally:
                await scheduler.stop()
        finally:
            await services.aclose()

    asyncio.run(run())
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from storage import migrate
    from storage.db import describe
    from storage.health import DatabaseNotReady, require_ready

    settings = _settings()
    _logging(settings)
    try:
        current = asyncio.run(require_ready(settings.database_url, migrated=False))
    except DatabaseNotReady as exc:
        return _refused(f"migrate: {exc}")
    try:
        applied = migrate.pending(current)
        migrate.upgrade(settings.database_url)
    except Exception as exc:  # a failed migration, whatever it raised: one line, the traceback on demand
        log.debug("migrate failed", exc_info=exc)
        return _refused(f"migrate: failed: {describe(exc)} (LOG_LEVEL=DEBUG shows the traceback)")
    for revision, what in applied:
        print(f"applied {revision}: {what}")
    print(f"database is up to date at {migrate.head()}" if applied else f"already up to date at {migrate.head()}")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.slack.manifest import render_manifest

    url = urlsplit(args.base_url)
    if url.scheme != "https" or not url.hostname:
        print(
            f"--base-url must be a public https:// URL, e.g. https://leads.example.com: Slack sends its "
            f"requests only to https (got {args.base_url!r})",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    sys.stdout.write(render_manifest(args.base_url))
    return 0


def cmd_gen_key(_: argparse.Namespace) -> int:
    from storage.crypto import Cipher

    print(Cipher.generate_key())
    return 0


def cmd_rotate_keys(_: argparse.Namespace) -> int:
    from storage.crypto import Cipher
    from storage.rotation import RotationError, rotate_database, shown

    settings = _settings("TOKEN_ENCRYPTION_KEYS")
    _logging(settings)
    try:
        report = asyncio.run(rotate_database(settings.database_url, cipher=Cipher(settings.encryption_keys)))
    except RotationError as exc:
        return _refused(f"rotate-keys: {exc}")
    print(
        f"re-encrypted {report.rotated} secret(s) in {shown(settings.database_url)} with the newest key; "
        f"{report.already_current} already current. Older keys can now be removed."
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    with interrupts.deferred():
        from bot.sandbox.demo import run

        # The demo is a sandbox: PORT from the environment, nothing from a .env meant for production.
        port = args.port or load_settings(env_file=None).port
        try:
            listen.check_free("127.0.0.1", port)
        except listen.CannotListen as exc:
            return _refused(exc)
        setup_logging(level="WARNING")
    # From here asyncio turns Ctrl-C into a cancellation, which the demo's set-up handles.
    return asyncio.run(run(port))


HANDLERS = {
    "serve": cmd_serve,
    "worker": cmd_worker,
    "demo": cmd_demo,
    "migrate": cmd_migrate,
    "manifest": cmd_manifest,
    "gen-key": cmd_gen_key,
    "rotate-keys": cmd_rotate_keys,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whatconverts-slack",
        description="WhatConverts for Slack: the app, its demo, and the tools to run it.",
        epilog="`whatconverts-slack COMMAND --help` says what a command does and which settings it reads.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers = {
        name: sub.add_parser(
            name,
            help=command.summary,
            description=textwrap.fill(command.description, WIDTH),
            epilog=epilog(command),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for name, command in COMMANDS.items()
    }
    for name, handler in HANDLERS.items():
        parsers[name].set_defaults(func=handler)
    serve = parsers["serve"]
    serve.add_argument("--no-scheduler", action="store_true", help="web only; run `worker` elsewhere")
    serve.add_argument("--host", default="0.0.0.0", help="interface to bind (default 0.0.0.0)")  # noqa: S104
    serve.add_argument("--port", type=int, default=None, help="port (default $PORT, or 3000)")
    parsers["demo"].add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default $PORT, or 3000)")
    parsers["manifest"].add_argument(
        "--base-url", required=True, help="public https URL of this app, e.g. https://leads.example.com"
    )
    return parser


def run(argv: Sequence[str] | None) -> int:
    """Parse `argv` and run the command; a configuration problem is one line per variable, exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for line in exc.lines:
            print(f"configuration error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        # Ctrl-C is how a server is stopped; these, cut short, did not finish what they were asked to.
        if args.command in ("migrate", "rotate-keys"):
            print(f"{args.command}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        raise
