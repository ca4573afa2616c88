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

from collections import defaultdict
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.config import Settings
from bot.connectivity import network_failure
from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.slack.manifest import RECORDING_SCOPE, bot_scopes
from bot.store.db import safe_url
from bot.store.migrate import database_problem, head_revision
from bot.store.models import Route

REINSTALL = (
    "paste the output of `make manifest` into your app's App Manifest page "
    "(https://api.slack.com/apps), reinstall the app (OAuth & Permissions → Reinstall), "
    "and copy the Bot User OAuth Token into SLACK_BOT_TOKEN again if it changed"
)
#: What to do about auth.test's refusals of the bot token.
SLACK_TOKEN_FIXES = {
    "invalid_auth": "Slack does not know SLACK_BOT_TOKEN; copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions at https://api.slack.com/apps",
    "token_revoked": "SLACK_BOT_TOKEN was revoked (the app was uninstalled?); reinstall the app (OAuth & Permissions → Install) and set the new xoxb- token",
    "account_inactive": "SLACK_BOT_TOKEN belongs to a deactivated app or workspace; reinstall the app and set the new xoxb- token",
    "not_authed": "Slack got no token; set SLACK_BOT_TOKEN",
}


class Report:
    """Prints each result as it comes and counts the failures."""

    def __init__(self) -> None:
        self.failures = 0

    def ok(self, name: str, found: str) -> None:
        print(f"ok    {name}: {found}", flush=True)

    def fail(self, name: str, problem_and_fix: str) -> None:
        self.failures += 1
        print(f"FAIL  {name}: {problem_and_fix}", flush=True)

    def skip(self, name: str, why: str) -> None:
        print(f"skip  {name}: {why}", flush=True)


async def run_checks(settings: Settings) -> int:
    """Run every check against the real services, print a line each; 1 if any failed, else 0."""
    report = Report()
    report.ok("settings", "every required setting is set, and none is a template placeholder")
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
        await _check_qtvoice(runtime, report)
        secrets = settings.webhook_secrets
        rotating = f" ({len(secrets)}, any one verifies)" if len(secrets) > 1 else ""
        report.ok("webhook secret", f"QTVOICE_WEBHOOK_SECRET is set{rotating}")
    finally:
        await runtime.close()
    return 1 if report.failures else 0


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
        report.fail("slack", SLACK_TOKEN_FIXES.get(code, f"Slack refused the token ({code})"))
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
    """With SLACK_APP_TOKEN set, Slack opens a Socket Mode connection for it."""
    app_token = runtime.settings.slack_app_token
    if app_token is None:
        report.ok(
            "socket mode",
            "off (SLACK_APP_TOKEN is unset): Slack must reach this bot at the request URLs of "
            "`make manifest URL=https://…`",
        )
        return
    try:
        await runtime.slack.apps_connections_open(app_token=app_token.get_secret_value())
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
    report.ok("socket mode", "SLACK_APP_TOKEN opens a connection: Slack needs no public URL")


async def _check_qtvoice(runtime: Runtime, report: Report) -> None:
    """QTVOICE_API_KEY works: `GET /extensions` answers."""
    url = runtime.settings.qtvoice_api_url
    try:
        extensions = await runtime.qtvoice.list_extensions()
    except QTvoiceError as error:
        report.fail("qtvoice", _qtvoice_fix(error, url))
        return
    budget = runtime.qtvoice.rate_limit
    room = f", {budget.remaining}/{budget.limit} requests left this hour" if budget else ""
    report.ok("qtvoice", f"the API key works: {len(extensions)} extensions{room}")


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
