"""The `whatconverts-slack` console script: serve, worker, migrate, manifest, gen-key, rotate-keys."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from bot.config import SLACK_REQUIRED, ConfigError, Settings, load_settings
from bot.logs import Redactor, setup_logging

EXIT_CONFIG = 2
EXIT_REFUSED = 1  # ran, but refused: nothing was changed


def _settings(*required: str) -> Settings:
    return load_settings().require(*required)


def _logging(settings: Settings) -> Redactor:
    return setup_logging(level=settings.log_level, fmt=settings.log_format)


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


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import create_app

    settings = _settings(*SLACK_REQUIRED)
    redactor = _logging(settings)
    if _database_refused(settings):
        return EXIT_REFUSED
    app = create_app(settings, run_scheduler=not args.no_scheduler, redactor=redactor)
    port = args.port or settings.port
    config = uvicorn.Config(app, host=args.host, port=port, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run()
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    from bot.app import build_services
    from bot.scheduler import build_scheduler
    from storage import migrate

    settings = _settings(*SLACK_REQUIRED)
    redactor = _logging(settings)
    if _database_refused(settings):
        return EXIT_REFUSED

    async def run() -> None:
        services = build_services(settings, redactor=redactor)
        await services.start()
        if settings.is_sqlite:
            await asyncio.to_thread(migrate.upgrade, settings.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheduler = build_scheduler(services)
        scheduler.start()
        try:
            await stop.wait()
        finally:
            await scheduler.stop()
            await services.aclose()

    asyncio.run(run())
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    import logging

    from storage import migrate
    from storage.db import describe
    from storage.health import DatabaseNotReady, require_ready

    settings = _settings()
    _logging(settings)
    try:
        asyncio.run(require_ready(settings.database_url, migrated=False))
    except DatabaseNotReady as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        migrate.upgrade(settings.database_url)
    except Exception as exc:  # a failed migration, whatever it raised: one line, the traceback on demand
        logging.getLogger(__name__).debug("migrate failed", exc_info=exc)
        print(f"migrate: failed: {describe(exc)} (LOG_LEVEL=DEBUG shows the traceback)", file=sys.stderr)
        return EXIT_REFUSED
    print("database is up to date")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.manifest import render_manifest

    if not args.base_url.startswith(("https://", "http://")):
        print("--base-url must start with https:// (Slack needs a public HTTPS URL)", file=sys.stderr)
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
        print(f"rotate-keys: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(
        f"re-encrypted {report.rotated} secret(s) in {shown(settings.database_url)} with the newest key; "
        f"{report.already_current} already current. Older keys can now be removed."
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.sandbox.demo import run

    setup_logging(level="WARNING")
    return asyncio.run(run(args.port))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="whatconverts-slack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="HTTP server and scheduler in one process")
    serve.add_argument("--no-scheduler", action="store_true", help="web only; run `worker` elsewhere")
    serve.add_argument("--host", default="0.0.0.0", help="interface to bind (default 0.0.0.0)")  # noqa: S104
    serve.add_argument("--port", type=int, default=None, help="port (default $PORT or 3000)")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="scheduler only, no HTTP").set_defaults(func=cmd_worker)
    demo = sub.add_parser("demo", help="the app against built-in fake Slack and WhatConverts, at /sandbox")
    demo.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (default 3000)")
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)").set_defaults(func=cmd_migrate)
    manifest = sub.add_parser("manifest", help="print manifest.yml for a public URL")
    manifest.add_argument("--base-url", required=True, help="public URL of this app, e.g. https://leads.example.com")
    manifest.set_defaults(func=cmd_manifest)
    sub.add_parser("gen-key", help="print a new Fernet key for TOKEN_ENCRYPTION_KEYS").set_defaults(func=cmd_gen_key)
    sub.add_parser("rotate-keys", help="re-encrypt every stored secret with the newest key").set_defaults(
        func=cmd_rotate_keys
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
