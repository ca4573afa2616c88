"""`python -m bot COMMAND` (or `qtslack COMMAND`): run, operate and try out qtslack."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TextIO, cast

from bot.config import DatabaseSettings, ManifestSettings, Settings, SettingsError, load_settings
from bot.errors import OperatorError

EXIT_BAD_SETTINGS = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    sys.stdout = cast(TextIO, ReaderMayLeave(sys.stdout))
    sys.stderr = cast(TextIO, ReaderMayLeave(sys.stderr))
    try:
        status = int(args.run(args) or 0)
        sys.stdout.flush()
        return status
    except SettingsError as error:
        print("qtslack cannot start; fix these settings (environment or .env):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except OperatorError as error:
        print(f"qtslack {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


class ReaderMayLeave:
    """stdout or stderr for a reader that may stop reading: `check | head -1`, `deliveries | head`.

    Once the reader has gone, a write raises BrokenPipeError. Raised from the middle of a
    command, it would end the command before it knows its verdict, and end it with whatever
    status the handler picked (a failing `check | head -1` used to exit 0). Instead the stream
    is pointed at devnull (Python's advice, signal module docs, "Note on SIGPIPE", which also
    keeps the flush at exit quiet) and the command runs on to its own exit status: what the
    reader wanted was printed, and a failure still exits 1.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_left()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_left()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)

    def _reader_left(self) -> None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qtslack", description="QTvoice business phones in Slack."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, run: Callable[[argparse.Namespace], int | None], help: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    serve = command(
        "serve",
        cmd_serve,
        "the web app (Slack, QTvoice webhooks, health) and, unless --no-worker, the delivery worker",
    )
    serve.add_argument(
        "--host",
        default="0.0.0.0",  # noqa: S104 - a server listens on every interface
        help="address to listen on (default: %(default)s, every interface)",
    )
    serve.add_argument("--port", type=int, default=None, help="default: PORT, else 3000")
    serve.add_argument("--no-worker", action="store_true", help="serve HTTP only (scale-out)")
    command("worker", cmd_worker, "the delivery worker and scheduled jobs alone (scale-out)")
    command("migrate", cmd_migrate, "upgrade the database (DATABASE_URL) to the latest schema")
    check = command(
        "check",
        cmd_check,
        "check settings, the database, Slack (token, scopes, channels) and QTvoice; exit 1 on a failure",
    )
    check.add_argument(
        "--settings",
        action="store_true",
        help="check the settings alone, touching no database or network (Heroku's release phase)",
    )
    manifest = command("manifest", cmd_manifest, "print the Slack app manifest for this deployment")
    where = manifest.add_mutually_exclusive_group()
    where.add_argument(
        "--socket-mode", action="store_true", help="no public URL: Slack connects over Socket Mode"
    )
    where.add_argument(
        "--url",
        type=https_url,
        help="the bot's public base URL, https://… (HTTP request URLs; default: PUBLIC_URL)",
    )
    demo = command("demo", cmd_demo, "play every flow against local QTvoice and Slack stand-ins")
    demo.add_argument("--keep-running", action="store_true", help="leave everything up afterwards")
    send = command(
        "send-webhook", cmd_send_webhook, "send one signed sample webhook to a running bot"
    )
    send.add_argument("event", help="an event type, e.g. call.missed")
    send.add_argument("--url", required=True, help="the bot's webhook URL, …/qtvoice/webhooks")
    send.add_argument("--secret", help="signing secret (default: QTVOICE_WEBHOOK_SECRET)")
    deliveries = command(
        "deliveries",
        cmd_deliveries,
        "list stored events and their delivery state, newest first; `deliveries show ID`: "
        "one event with its whole last error",
    )
    deliveries.add_argument("show", nargs="?", choices=["show"], help="show one event whole")
    deliveries.add_argument(
        "id", nargs="?", type=int, help="the event's ID: the first column of `deliveries`"
    )
    deliveries.add_argument("--failed", action="store_true", help="only the failed ones")
    deliveries.add_argument(
        "--limit", type=int, default=50, help="how many to list (default: %(default)s)"
    )
    replay = command("replay", cmd_replay, "queue a stored event for delivery again")
    replay.add_argument("id", type=int, help="the event's ID: the first column of `deliveries`")
    forget = command(
        "forget", cmd_forget, "erase everything stored about a phone number (its opt-out kept)"
    )
    forget.add_argument("number", help="the caller's number, e.g. +12155551234")
    forget.add_argument(
        "--slack", action="store_true", help="also delete the bot's Slack messages about it"
    )
    backup = command(
        "backup", cmd_backup, "copy the SQLite database while the bot runs (PostgreSQL: pg_dump)"
    )
    backup.add_argument("file", help="where to write the copy")
    return parser


def https_url(value: str) -> str:
    """An argparse type: Slack sends requests only to https:// URLs."""
    if not value.startswith("https://") or len(value) <= len("https://"):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an https:// URL; give the address the bot is served at, "
            "like https://your-app.herokuapp.com"
        )
    return value


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from starlette.applications import Starlette

    from bot.connections import ReadDeadlineProtocol
    from bot.logs import Scrubber, configure_logging
    from bot.metrics import prepare_multiprocess
    from bot.runtime import Runtime
    from bot.store.db import SQLITE_GIL_SWITCH_SECONDS, is_sqlite
    from bot.store.migrate import upgrade
    from bot.store.sole_worker import sole_worker
    from bot.web import create_app

    settings = load_settings(Settings)
    configure_logging(settings.log_level, Scrubber.for_settings(settings), settings.log_format)
    processes = web_processes(settings)
    if is_sqlite(settings.database_url):
        upgrade(settings.database_url)
        sys.setswitchinterval(SQLITE_GIL_SWITCH_SECONDS)
    app: Starlette | str
    if processes == 1:
        app = create_app(Runtime.create(settings), run_worker=not args.no_worker)
    else:
        # uvicorn starts each process afresh and needs the app by name to build it there.
        app = "bot.web:app_without_worker" if args.no_worker else "bot.web:app_with_worker"
        # Each process then counts into files /metrics merges (prometheus_client multiprocess).
        prepare_multiprocess(processes)
    delivering = contextlib.nullcontext() if args.no_worker else sole_worker(settings.database_url)
    with delivering:
        uvicorn.run(
            app,
            factory=processes > 1,
            workers=processes,
            host=args.host,
            port=args.port or settings.port,
            log_level=settings.log_level.lower(),
            # Above Heroku's router idle timeout (90 s), so the router never reuses a closed socket.
            timeout_keep_alive=95,
            # httptools' parser, with a deadline for each request to arrive (bot/connections.py).
            http=ReadDeadlineProtocol,
            loop="uvloop",
            access_log=False,
            # uvicorn's own handlers would write around the scrubbing root handler (bot/logs.py).
            log_config=None,
        )
    return 0


def web_processes(settings: Settings) -> int:
    """How many web processes `serve` runs: WEB_CONCURRENCY, but one on SQLite.

    On PostgreSQL each process may run the delivery worker too: workers lease events with
    `FOR UPDATE SKIP LOCKED` and the scheduled jobs follow one advisory lock. SQLite takes one
    writer at a time and has no such lock, so it is served by one process whatever the setting
    says (platforms such as Heroku set WEB_CONCURRENCY on their own: refusing to start would
    take the bot down for a setting the operator never chose).
    """
    import logging

    from bot.store.db import is_sqlite

    if settings.web_concurrency > 1 and is_sqlite(settings.database_url):
        logging.getLogger("bot.serve").warning(
            "WEB_CONCURRENCY=%s ignored: SQLite is served by one process; "
            "set DATABASE_URL to PostgreSQL to run several web processes",
            settings.web_concurrency,
        )
        return 1
    return settings.web_concurrency


def cmd_worker(args: argparse.Namespace) -> int:
    import uvloop

    from bot.logs import Scrubber, configure_logging
    from bot.runtime import Runtime
    from bot.services import BackgroundServices
    from bot.startup import SchemaGate, announce
    from bot.store.db import SQLITE_GIL_SWITCH_SECONDS, is_sqlite
    from bot.store.sole_worker import sole_worker

    settings = load_settings(Settings)
    if is_sqlite(settings.database_url):
        sys.setswitchinterval(SQLITE_GIL_SWITCH_SECONDS)
    configure_logging(settings.log_level, Scrubber.for_settings(settings), settings.log_format)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        runtime = Runtime.create(settings)
        try:
            await announce(runtime)
            if await SchemaGate(runtime).wait_open(stop):
                await BackgroundServices(runtime).run_until(stop)
        finally:
            await runtime.close()

    with sole_worker(settings.database_url):
        uvloop.run(run())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.db import safe_url
    from bot.store.migrate import cannot_open, upgrade

    settings = load_settings(DatabaseSettings)
    try:
        upgrade(settings.database_url)
    except (SQLAlchemyError, OSError) as error:
        raise OperatorError(cannot_open(error, settings.database_url)) from None
    print(f"database {safe_url(settings.database_url)} is at the latest schema")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """`check`, or with --settings the settings' lines alone.

    `check --settings` runs first in Heroku's release phase (Procfile): a mistyped setting then
    fails the deploy with these lines on the deploy page, and the release is not deployed,
    where `serve` would only exit 2 behind Heroku's "Application error" page.
    """
    from bot.checks import SETTINGS_OK, Line, run_checks

    try:
        settings = load_settings(Settings)
    except SettingsError as error:
        for problem in error.problems:
            print(Line("FAIL", "settings", problem))
        if not args.settings:
            print(
                Line(
                    "skip",
                    "the rest",
                    "not checked until the settings above are fixed (environment or .env)",
                )
            )
        return 1
    if args.settings:
        print(Line("ok", "settings", SETTINGS_OK))
        return 0
    return asyncio.run(run_checks(settings))


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.slack.manifest import SOCKET_MODE_SETUP, build_manifest

    try:
        settings = load_settings(ManifestSettings)
    except SettingsError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    # Without an option the deployment's own PUBLIC_URL says where Slack sends.
    url = None if args.socket_mode else args.url or settings.public_url
    if not args.socket_mode and (url is None or not url.startswith("https://")):
        unusable = "" if url is None else f"PUBLIC_URL {url} is not an https:// address; "
        print(f"qtslack manifest: {unusable}{MANIFEST_WHERE}", file=sys.stderr)
        return 2
    manifest = build_manifest(url, upload_recordings=settings.upload_recordings)
    print(json.dumps(manifest, indent=2))
    if args.socket_mode:
        # stderr, so `manifest --socket-mode > manifest.json` stays pure JSON.
        print(SOCKET_MODE_SETUP, file=sys.stderr)
    return 0


#: What `manifest` says when it does not know how Slack reaches the bot.
MANIFEST_WHERE = (
    "say how Slack reaches the bot: --socket-mode (no public URL needed), or --url "
    "https://your-app.herokuapp.com (the bot's https:// address), or set PUBLIC_URL to that address"
)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(keep_running=args.keep_running)


def cmd_send_webhook(args: argparse.Namespace) -> int:
    import httpx

    from bot.config import WebhookSecretSettings
    from bot.connectivity import network_failure
    from bot.sandbox.qtvoice import send_webhook
    from bot.sandbox.samples import EVENT_TYPES, sample_event

    if args.event not in EVENT_TYPES:
        print(f"unknown event {args.event!r}; one of: {', '.join(EVENT_TYPES)}", file=sys.stderr)
        return 2
    secret = args.secret or load_settings(WebhookSecretSettings).webhook_secrets[0]
    envelope = sample_event(args.event)
    try:
        response = send_webhook(args.url, envelope, secret)
    except httpx.TransportError as error:
        reason = network_failure(error, args.url) or str(error)
        raise OperatorError(
            f"cannot send to {args.url}: {reason}; is the bot running (`make serve`), "
            "and is that its …/qtvoice/webhooks URL?"
        ) from None
    print(
        f"{args.event} {envelope['data'].get('id')} -> HTTP {response.status_code} {response.text}"
    )
    hint = SEND_WEBHOOK_HINTS.get(response.status_code)
    if hint is not None:
        print(f"hint: {hint}", file=sys.stderr)
    return 0 if response.is_success else 1


#: What to do when the bot refuses `send-webhook`'s sample, by HTTP status.
SEND_WEBHOOK_HINTS = {
    401: "the bot refused the signature: sign with the bot's own QTVOICE_WEBHOOK_SECRET "
    "(--secret, or QTVOICE_WEBHOOK_SECRET here); if the answer says the bot has none, set it "
    "on the bot (Heroku: Settings → Config Vars) and try again",
    404: "nothing answers webhooks at that URL: give the bot's address followed by "
    "/qtvoice/webhooks, e.g. https://your-app.herokuapp.com/qtvoice/webhooks",
    405: "that URL does not take webhooks: give the bot's address followed by /qtvoice/webhooks",
    503: "the bot's database is not ready (its /healthz says why; `python -m bot migrate`?); "
    "QTvoice retries such webhooks by itself",
}


def cmd_deliveries(args: argparse.Namespace) -> int:
    from bot.operations import list_deliveries, show_delivery

    if args.show:
        if args.id is None:
            raise OperatorError("which event? `deliveries show ID`, the ID from `deliveries`")
        return asyncio.run(show_delivery(load_settings(DatabaseSettings), args.id))
    return asyncio.run(
        list_deliveries(load_settings(DatabaseSettings), failed=args.failed, limit=args.limit)
    )


def cmd_replay(args: argparse.Namespace) -> int:
    from bot.operations import replay_delivery

    return asyncio.run(replay_delivery(load_settings(DatabaseSettings), args.id))


def cmd_forget(args: argparse.Namespace) -> int:
    from bot.erasure import NotANumber, forget, report
    from bot.operations import ready
    from bot.runtime import Runtime

    settings = load_settings(Settings)

    async def run() -> dict[str, int]:
        runtime = Runtime.create(settings)
        try:
            await ready(runtime.engine, settings.database_url)
            async with runtime.sessions() as session:
                slack = runtime.slack if args.slack else None
                return await forget(session, args.number, settings.default_region, slack=slack)
        finally:
            await runtime.close()

    try:
        counts = asyncio.run(run())
    except NotANumber as error:
        raise OperatorError(str(error)) from None
    print(report(counts))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.ops.backup import backup

    print(backup(load_settings(DatabaseSettings).database_url, args.file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
