"""`GET /`: the set-up page, safe on a public URL.

It shows the going-live checklist (the lines of `check`, each failure with its fix), a
**Create the Slack app** link that opens Slack with this deployment's manifest filled in
(`https://api.slack.com/apps?new_app=1&manifest_json=…`, Slack's "create an app from a
manifest" link), and the webhook URL to give QTvoice. Nothing on it is a token, secret, key or
caller data: check lines pass through the deployment's scrubber, and the database is named
only by its setting.

The page is public, and each checklist costs a few Slack and QTvoice requests, so one run is
shared by every visitor for `CHECKLIST_SECONDS`.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.checks import Line, Report, gather_checks
from bot.config import Settings
from bot.logs import Scrubber
from bot.slack.manifest import SOCKET_MODE_SETUP, WEBHOOK_PATH, build_manifest
from bot.store.db import safe_url

#: How long one run of the checklist is shown to every visitor before it runs again.
CHECKLIST_SECONDS = 60.0
#: Slack's link that opens "Create an app from a manifest" with the manifest filled in.
NEW_APP_URL = "https://api.slack.com/apps?new_app=1&manifest_json="

_MARKS = {"ok": ("ok", "\N{CHECK MARK}"), "FAIL": ("fail", "\N{BALLOT X}")}


def setup_routes(settings: Settings) -> list[Route]:
    """`GET /`, the set-up page, for the web app."""
    checklist = Checklist(settings)

    async def page(request: Request) -> Response:
        lines = await checklist.lines()
        return HTMLResponse(render_page(settings, lines, base_url(settings, request)))

    return [Route("/", page, methods=["GET"])]


class Checklist:
    """The lines of `check`, run at most once per `CHECKLIST_SECONDS` whoever asks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.scrub = Scrubber.for_settings(settings)
        self._lock = asyncio.Lock()
        self._lines: list[Line] = []
        self._at = float("-inf")

    async def lines(self) -> list[Line]:
        async with self._lock:
            if time.monotonic() - self._at >= CHECKLIST_SECONDS:
                report = Report(echo=False)
                await gather_checks(self.settings, report)
                self._lines = [self._public(line) for line in report.lines]
                self._at = time.monotonic()
            return self._lines

    def _public(self, line: Line) -> Line:
        """The line with every secret and the database's address (host, user) taken out."""
        text = line.text.replace(
            safe_url(self.settings.database_url), "the database (DATABASE_URL)"
        )
        return Line(line.verdict, line.name, self.scrub(text))


def base_url(settings: Settings, request: Request) -> str | None:
    """This deployment's https:// base: PUBLIC_URL, else the address the page was asked at.

    Platforms such as Heroku end TLS at their router and say so in `X-Forwarded-Proto`; a
    plain-http address is no use to Slack, which sends requests only to https:// URLs.
    """
    if settings.public_url is not None:
        return settings.public_url
    scheme = request.headers.get("x-forwarded-proto", request.url.scheme)
    host = request.headers.get("host")
    if scheme != "https" or not host:
        return None
    return f"https://{host}"


def new_app_link(manifest: dict[str, object]) -> str:
    """The link that opens Slack's "Create an app" with `manifest` filled in."""
    return NEW_APP_URL + quote(json.dumps(manifest, separators=(",", ":")), safe="")


def render_page(settings: Settings, lines: list[Line], base: str | None) -> str:
    """The set-up page's HTML: checklist, Create the Slack app, the webhook URL for QTvoice."""
    socket_mode = settings.slack_app_token is not None or base is None
    manifest = build_manifest(None if socket_mode else base)
    failures = sum(1 for line in lines if line.verdict == "FAIL")
    verdict = (
        "You are live: try <code>/qtvoice help</code> in Slack."
        if not failures
        else f"{failures} thing{'s' if failures > 1 else ''} to fix before you are live:"
    )
    items = "\n".join(_item(line) for line in lines)
    how = (
        f"Socket Mode (no request URLs). {html.escape(SOCKET_MODE_SETUP)}"
        if socket_mode
        else f"requests go to <code>{html.escape(base or '')}/slack/events</code>."
    )
    webhook = (
        f"<code id='webhook-url'>{html.escape(base + WEBHOOK_PATH)}</code>"
        if base is not None
        else "<code id='webhook-url'>https://YOUR-APP…/qtvoice/webhooks</code> (set "
        "<code>PUBLIC_URL</code> to the bot's https:// address to see it here)"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>qtslack: going live</title>
<style>
body {{ font: 16px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  max-width: 880px; margin: 2em auto; padding: 0 1em; color: #1d1c1d; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.2em; margin-top: 1.6em; }}
ol.checks {{ list-style: none; padding: 0; }}
ol.checks li {{ padding: .4em .6em; border-radius: 6px; margin: .3em 0; }}
li.ok {{ background: #eef8f1; }} li.fail {{ background: #fdecec; }} li.skip {{ background: #f4f4f4; }}
.name {{ font-weight: 600; }}
a.button {{ display: inline-block; background: #4a154b; color: #fff; padding: .6em 1.2em;
  border-radius: 6px; text-decoration: none; font-weight: 600; }}
code {{ background: #f4f4f4; padding: 0 .3em; border-radius: 3px; word-break: break-all; }}
</style></head>
<body>
<h1>qtslack: going live</h1>
<p id="verdict">{verdict}</p>
<h2>1. Create the Slack app</h2>
<p><a class="button" id="create-app" href="{html.escape(new_app_link(manifest))}"
  target="_blank" rel="noopener">Create the Slack app</a></p>
<p>Opens Slack with this deployment's manifest filled in: pick your workspace, create,
<b>Install to Workspace</b>; {how} Then set <code>SLACK_BOT_TOKEN</code> (OAuth &amp;
Permissions) and <code>SLACK_SIGNING_SECRET</code> (Basic Information) in this deployment's
settings (Heroku: Settings → Config Vars). An app made already? Paste the manifest over its
App Manifest page.</p>
<h2>2. Point QTvoice at the bot</h2>
<p>QTvoice → Settings → Webhooks: add {webhook} with every event, and copy its signing secret
into <code>QTVOICE_WEBHOOK_SECRET</code>.</p>
<h2>3. The checklist</h2>
<p>What <code>python -m bot check</code> says right now (run again every minute; reload to see
it after a fix):</p>
<ol class="checks">
{items}
</ol>
</body></html>
"""


def _item(line: Line) -> str:
    kind, mark = _MARKS.get(line.verdict, ("skip", "\N{EN DASH}"))
    return (
        f'<li class="{kind}">{mark} <span class="name">{html.escape(line.name)}</span>: '
        f"{html.escape(line.text)}</li>"
    )
