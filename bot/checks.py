"""`check`: can this deployment work? One line per check; each failure says what to do.

The lines are for the person setting the bot up: "ok    NAME: what was found" or
"FAIL  NAME: what is wrong; what to do". In order: the database (reachable, at the latest
migration), Slack (the token; the scopes granted, read from auth.test's `X-OAuth-Scopes`
header as Slack sends it, against the manifest's; each notified channel: `NOTIFY_CHANNEL`
and every routed one, via conversations.info; with `SLACK_APP_TOKEN`, that it opens a Socket
Mode connection), QTvoice (the API key, with `GET /extensions`)
and the webhook secret. Settings themselves (missing, malformed, placeholders) are refused
before any of this runs. `run_checks` returns the exit code: 1 when anything failed.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from bot.config import Settings
from bot.connectivity import network_failure, not_public
from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.slack.manifest import RECORDING_SCOPE, SLACK_PATH, WEBHOOK_PATH, bot_scopes
from bot.startup import token_fix
from bot.store.db import safe_url
from bot.store.migrate import database_problem, head_revision
from bot.store.models import Route
from bot.tls import client_context

#: How long `check` waits for the bot's own public URL, or Slack's websocket, to answer.
REACH_TIMEOUT_SECONDS = 10

#: The settings line when the settings load: `check`'s first line, and `check --settings`'s only.
SETTINGS_OK = "every required setting is set, and none is a template placeholder"

REINSTALL = (
    "paste the output of `make manifest` into your app's App Manifest page "
    "(https://api.slack.com/apps), reinstall the app (OAuth & Permissions → Reinstall), "
    "and copy the Bot User OAuth Token into SLACK_BOT_TOKEN again if it changed"
)


@dataclass(frozen=True)
class Line:
    """One check's verdict ("ok", "FAIL" or "skip"), its name, and what was found or what to do."""

    verdict: str
    name: str
    text: str

    def __str__(self) -> str:
        return f"{self.verdict:<5} {self.name}: {self.text}"


class Report:
    """Collects each result, printing it as it comes when `echo` (the `check` command)."""

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self.lines: list[Line] = []

    @property
    def failures(self) -> int:
        return sum(1 for line in self.lines if line.verdict == "FAIL")

    def ok(self, name: str, found: str) -> None:
        self._add(Line("ok", name, found))

    def fail(self, name: str, problem_and_fix: str) -> None:
        self._add(Line("FAIL", name, problem_and_fix))

    def skip(self, name: str, why: str) -> None:
        self._add(Line("skip", name, why))

    def _add(self, line: Line) -> None:
        self.lines.append(line)
        if self.echo:
            print(line, flush=True)


async def run_checks(settings: Settings) -> int:
    """Run every check against the real services, print a line each; 1 if any failed, else 0."""
    report = Report()
    await gather_checks(settings, report)
    return 1 if report.failures else 0


async def gather_checks(settings: Settings, report: Report) -> None:
    """Every check of `check`, in order, into `report` (the set-up page shows the same lines)."""
    report.ok("settings", SETTINGS_OK)
    runtime = Runtime.create(settings)
    try:
        routed = await _check_database(runtime, report)
        granted = await _check_slack(runtime, report)
        if granted is None:
            report.skip("channels", "not checked until Slack accepts the token")
        else:
            bot_name, scopes = granted
            await _check_channels(runtime, report, bot_name, scopes, routed)
        await _check_socket_mode(runtime, report)
        await _check_public_url(runtime, report)
        await _check_qtvoice(runtime, report)
        _check_webhook_secret(settings, report)
    finally:
        await runtime.close()


async def _check_database(runtime: Runtime, report: Report) -> dict[str, list[str]]:
    """The database answers and is at the latest migration; the routed channels it holds."""
    url = runtime.settings.database_url
    problem = await database_problem(runtime.engine, url)
    if problem is not None:
        report.fail("database", problem)
        return {}
    async with runtime.sessions() as session:
        routes = list(await session.execute(select(Route.channel_id, Route.target)))
    report.ok("database", f"{safe_url(url)} is at the latest migration ({head_revision()})")
    routed: dict[str, list[str]] = defaultdict(list)
    for channel, target in routes:
        routed[channel].append(target)
    return routed


async def _check_slack(runtime: Runtime, report: Report) -> tuple[str, set[str]] | None:
    """The bot token works and has every scope the manifest asks for: (bot's name, scopes)."""
    url = runtime.settings.slack_api_url
    try:
        response = await runtime.slack.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error"))
        report.fail("slack", token_fix(code))
        return None
    except Exception as error:  # aiohttp's and the OS's errors alike: report, never a traceback
        reason = network_failure(error, url) or _first_line(error)
        report.fail(
            "slack",
            f"cannot reach Slack at {url}: {reason}; check this machine's network and SLACK_API_URL",
        )
        return None
    bot_name = str(response.get("user") or "the bot")
    report.ok("slack", f"bot @{bot_name} in workspace {response.get('team')}")
    header = response.headers.get("X-OAuth-Scopes") or response.headers.get("x-oauth-scopes")
    if header is None:
        report.fail(
            "scopes",
            f"Slack did not say which scopes the token has (no X-OAuth-Scopes header); is SLACK_API_URL ({url}) Slack's?",
        )
        return bot_name, set()
    granted = {scope.strip() for scope in str(header).split(",") if scope.strip()}
    wanted = bot_scopes(runtime.settings.upload_recordings)
    missing = [scope for scope in wanted if scope not in granted]
    if missing:
        why = (
            f" ({RECORDING_SCOPE} because UPLOAD_RECORDINGS is on)"
            if RECORDING_SCOPE in missing
            else ""
        )
        report.fail(
            "scopes",
            f"the app lacks {', '.join(missing)}, which the manifest asks for{why}; {REINSTALL}",
        )
    else:
        report.ok("scopes", f"all {len(wanted)} scopes the manifest asks for are granted")
    return bot_name, granted


async def _check_channels(
    runtime: Runtime,
    report: Report,
    bot_name: str,
    granted: set[str],
    routed: dict[str, list[str]],
) -> None:
    """The bot can see and post in NOTIFY_CHANNEL and every routed channel."""
    notify = runtime.settings.notify_channel
    channels = {notify: "NOTIFY_CHANNEL"}
    for channel, targets in routed.items():
        channels.setdefault(channel, f"the route for {', '.join(sorted(targets))}")
    for channel, use in channels.items():
        name = f"channel {channel}"
        fix_id = (
            "set NOTIFY_CHANNEL to the right ID (in Slack: the channel's details, at the bottom)"
            if channel == notify
            else "check the ID with `/qtvoice routes` and route again"
        )
        try:
            response = await runtime.slack.conversations_info(channel=channel)
        except SlackApiError as error:
            code = str(error.response.get("error"))
            if code == "channel_not_found":
                report.fail(
                    name,
                    f"Slack shows @{bot_name} no channel {channel} ({use}); if it is a private "
                    f"channel, invite the bot: open it and type /invite @{bot_name}; otherwise {fix_id}",
                )
            elif code == "missing_scope":
                report.fail(name, f"the bot may not look channels up (missing_scope); {REINSTALL}")
            else:
                report.fail(name, f"Slack said {code} about {channel} ({use})")
            continue
        info: dict[str, Any] = response.get("channel") or {}
        label = f"#{info.get('name') or channel} ({use})"
        if info.get("is_archived"):
            report.fail(name, f"{label} is archived; unarchive it in Slack, or {fix_id}")
        elif info.get("is_member"):
            report.ok(name, f"{label}: @{bot_name} is a member and can post")
        elif not info.get("is_private") and "channels:join" in granted:
            report.ok(name, f"{label}: public; @{bot_name} joins it on its first post")
        else:
            report.fail(
                name,
                f"@{bot_name} is not in {label}; open it in Slack and type /invite @{bot_name}",
            )


async def _check_socket_mode(runtime: Runtime, report: Report) -> None:
    """With SLACK_APP_TOKEN set, a Socket Mode connection really opens: Slack says hello.

    `apps.connections.open` alone only proves the token; the websocket it names must open
    and greet (Slack's Socket Mode docs: the first message is `{"type": "hello"}`). The
    connection is closed at once, before Slack sends it any request.
    """
    app_token = runtime.settings.slack_app_token
    if app_token is None:
        return
    try:
        opened = await runtime.slack.apps_connections_open(app_token=app_token.get_secret_value())
    except SlackApiError as error:
        report.fail(
            "socket mode",
            f"Slack refused SLACK_APP_TOKEN ({error.response.get('error')}); create an app-level "
            "token with the connections:write scope (your app → Basic Information → App-Level "
            "Tokens) and set SLACK_APP_TOKEN to it",
        )
        return
    except Exception as error:  # the network: already named on the slack line
        report.fail("socket mode", f"not checked: {_first_line(error)}")
        return
    problem = await _socket_says_hello(str(opened.get("url") or ""))
    if problem is not None:
        report.fail(
            "socket mode",
            f"Slack accepted SLACK_APP_TOKEN but the connection did not open ({problem}); "
            "turn Socket Mode on in your app (Settings → Socket Mode), and let this machine "
            "open outgoing websockets to wss-primary.slack.com",
        )
        return
    report.ok("socket mode", "a Socket Mode connection opened: Slack reaches the bot over it")


async def _socket_says_hello(url: str) -> str | None:
    """None when the websocket at `url` opens and its first message is a hello; else why not."""
    if not url:
        return "Slack returned no URL"
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as socket,
        ):
            message = await socket.receive(timeout=REACH_TIMEOUT_SECONDS)
    except Exception as error:
        return network_failure(error, url) or _first_line(error)
    if message.type != aiohttp.WSMsgType.TEXT or '"hello"' not in str(message.data):
        return f"no hello, got {message.type.name}"
    return None


async def _check_public_url(runtime: Runtime, report: Report) -> None:
    """Slack (and QTvoice) can reach this deployment at PUBLIC_URL.

    PUBLIC_URL must be an https:// address on a public host: Slack sends requests only there.
    `PUBLIC_URL/livez` must answer 200, and `PUBLIC_URL/slack/events` must answer a
    `url_verification` challenge signed with SLACK_SIGNING_SECRET, the one Slack sends when a
    request URL is saved: only a bot holding this deployment's signing secret can answer it.
    A local address (Settings take http://localhost for trying the bot out) fails however it
    answers; what it answered from here is added, since it says whether the bot runs there.
    """
    settings = runtime.settings
    base = settings.public_url
    if base is None:
        if settings.slack_app_token is None:
            report.fail(
                "public url",
                "Slack cannot reach the bot: SLACK_APP_TOKEN and PUBLIC_URL are both unset. Set "
                "SLACK_APP_TOKEN (your app → Basic Information → App-Level Tokens, scope "
                "connections:write), or set PUBLIC_URL to the bot's https:// address and paste "
                "`make manifest URL=that-address` into your app's App Manifest page",
            )
        else:
            report.skip(
                "public url",
                "unset: QTvoice's webhooks cannot reach the bot; the poller fetches missed "
                f"events every {settings.reconcile_interval_seconds} s",
            )
        return
    unreached = await _answers_as_this_bot(base, settings.slack_signing_secret.get_secret_value())
    local = not_public(base)
    if local is not None:
        fix = (
            "Slack only sends to a public https:// address: set PUBLIC_URL to your deployment's "
            "https URL, or use Socket Mode with SLACK_APP_TOKEN"
            if settings.slack_app_token is None
            else "QTvoice only sends webhooks to a public https:// address: set PUBLIC_URL to "
            "your deployment's https URL, or unset it (the poller then fetches missed events "
            f"every {settings.reconcile_interval_seconds} s)"
        )
        seen = "answers as this bot" if unreached is None else unreached.what
        report.fail("public url", f"{base} {local}, and {fix}; from here it {seen}")
        return
    if unreached is not None:
        report.fail("public url", f"{base} {unreached.what}; {unreached.fix}")
        return
    report.ok(
        "public url",
        f"{base} reaches this bot: Slack may send to {base}{SLACK_PATH}, QTvoice to "
        f"{base}{WEBHOOK_PATH}",
    )


@dataclass(frozen=True)
class Unreached:
    """What `PUBLIC_URL` answered instead of this bot (read after the address), and the fix."""

    what: str
    fix: str


async def _answers_as_this_bot(base: str, signing_secret: str) -> Unreached | None:
    """None when `base` is this deployment; else what answered there and what to do."""
    challenge = secrets.token_urlsafe(16)
    body = json.dumps({"type": "url_verification", "challenge": challenge, "token": "check"})
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
    }
    try:
        async with httpx.AsyncClient(
            timeout=REACH_TIMEOUT_SECONDS, verify=client_context()
        ) as client:
            alive = await client.get(f"{base}/livez")
            if alive.status_code != 200:
                return Unreached(
                    f"answered /livez with {alive.status_code}, not 200",
                    "is PUBLIC_URL this bot's address (Heroku: Settings → Domains)?",
                )
            answer = await client.post(f"{base}{SLACK_PATH}", content=body, headers=headers)
    except httpx.HTTPError as error:
        reason = network_failure(error, base) or _first_line(error)
        return Unreached(
            f"cannot be reached ({reason})", "is the bot running there, and PUBLIC_URL right?"
        )
    if answer.status_code == 401:
        return Unreached(
            "is a bot with another SLACK_SIGNING_SECRET (a signed challenge was refused)",
            "is PUBLIC_URL this deployment's address?",
        )
    if answer.status_code != 200 or challenge not in answer.text:
        return Unreached(
            f"answered the Slack challenge with {answer.status_code}, not this bot's answer",
            "is PUBLIC_URL the bot's own address, with nothing in front that rewrites requests?",
        )
    return None


async def _check_qtvoice(runtime: Runtime, report: Report) -> None:
    """QTVOICE_API_KEY works (`GET /extensions`), and what it may do: call, text."""
    url = runtime.settings.qtvoice_api_url
    try:
        extensions = await runtime.qtvoice.list_extensions()
        may_call = await runtime.qtvoice.may_write("/calls")
        may_text = await runtime.qtvoice.may_write("/sms")
    except QTvoiceError as error:
        report.fail("qtvoice", _qtvoice_fix(error, url))
        return
    budget = runtime.qtvoice.rate_limit
    room = f", {budget.remaining}/{budget.limit} requests left this hour" if budget else ""
    cannot = [
        what for what, may in (("place calls", may_call), ("send texts", may_text)) if not may
    ]
    if cannot:
        report.fail(
            "qtvoice",
            f"the API key reads ({len(extensions)} extensions) but may not {' or '.join(cannot)} "
            "(403 FORBIDDEN): /call, /sms, Call back and thread replies would fail; create a key "
            "with calls and SMS permissions (QTvoice dashboard → Settings → API Keys) and set it",
        )
        return
    report.ok(
        "qtvoice",
        f"the API key reads ({len(extensions)} extensions), may place calls and send texts "
        f"(asked with empty requests, nothing sent){room}",
    )


def _check_webhook_secret(settings: Settings, report: Report) -> None:
    """QTVOICE_WEBHOOK_SECRET is set: optional at deploy, but every webhook is refused without it."""
    known = settings.webhook_secrets
    if not known:
        report.fail(
            "webhook secret",
            "QTVOICE_WEBHOOK_SECRET is unset: every webhook is refused (401) until it is set; "
            "set it to the signing secret in QTvoice → Settings → Webhooks (meanwhile the "
            f"poller fetches missed events every {settings.reconcile_interval_seconds} s)",
        )
        return
    rotating = f" ({len(known)}, any one verifies)" if len(known) > 1 else ""
    report.ok("webhook secret", f"QTVOICE_WEBHOOK_SECRET is set{rotating}")


def _qtvoice_fix(error: QTvoiceError, url: str) -> str:
    unreachable = network_failure(error, url)
    if unreachable is not None:
        return f"cannot reach QTvoice at {url}: {unreachable}; check this machine's network and QTVOICE_API_URL"
    if error.status == 401:
        return "QTvoice refused QTVOICE_API_KEY (401); create a key in the QTvoice dashboard → Settings → API Keys and set it"
    if error.status == 403:
        return "QTVOICE_API_KEY may not list extensions (403); use a key with full access (QTvoice dashboard → Settings → API Keys)"
    if error.status == 404:
        return f"{url}/extensions does not exist (404); QTVOICE_API_URL should end in /api/v1"
    if error.status == 429:
        return "QTvoice's hourly request budget is used up (429); run check again later"
    return f"QTvoice answered {error.status} {error.code} at {url}; try again later, and ask QTvoice support if it lasts"


def _first_line(error: object) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
