"""`python -m bot demo`: the whole product, end to end, on one machine in a few seconds.

It serves the real bot (the same app `serve` runs, on a throwaway SQLite file) against the
bundled QTvoice sandbox and a local Slack Web API recorder, plays the contract's scenarios as
QTvoice and Slack would, and prints every Slack message that resulted. `demo.html` shows them
drawn as Slack draws them (`bot.sandbox.slack.html`). Exit 0 only when every flow completed.
"""

from __future__ import annotations

import asyncio
import html
import os
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bot.config import Settings
from bot.delivery.digest import send_digests
from bot.delivery.followup import escalate
from bot.delivery.report import send_reports
from bot.ops.incidents import reconcile_watched
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox, send_webhook
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE, iso_timestamp, sample_event
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import DEFAULT_CHANNELS, TEAM_NAME, SlackDriver, SlackRecorder
from bot.sandbox.slack import html as slack_html
from bot.sandbox.slack.page import SlackPage, workspace_state
from bot.slack.blocks.contact_form import CONTACT_MODAL
from bot.slack.blocks.notifications import SAVE_CONTACT, TEXT_BACK
from bot.slack.blocks.ownership import ASSIGN_TO, TAKE_IT
from bot.store.migrate import upgrade
from bot.store.models import utcnow
from bot.tls import client_context
from bot.web import create_app

WEBHOOK_SECRET = "whsec_demo"
SIGNING_SECRET = "demo_signing_secret"
BOT_TOKEN = "xoxb-demo"
CHANNEL = "C0PHONES"
DEMO_USER = "U0ALICE"
DEMO_EXTENSION = "101"
COMMAND_CHANNEL = "C0GENERAL"
"""Where the demo's person types their slash commands."""
STEP_TIMEOUT = 15.0
NEW_CALLER = "+12675550177"
HOURS = "We're open 9-5, Mon-Fri."
#: A few KB standing in for an MP3, served by the QTvoice sandbox with the API key.
DEMO_AUDIO = b"ID3\x03" + bytes(range(256)) * 24
METRICS_TOKEN = "demo-metrics-token"
#: The /metrics lines the demo quotes (those not zero).
METRICS_SHOWN = (
    "qtslack_webhooks_total",
    "qtslack_deliveries_total",
    "qtslack_delivery_seconds_count",
    "qtslack_deliveries_pending",
    'qtslack_slack_calls_total{method="chat.postMessage"',
    "qtslack_qtvoice_calls_total",
    "qtslack_time_to_take_seconds_count",
)


@dataclass
class Flow:
    """One scenario's outcome: the Slack messages it produced (in `channel`), the ephemerals
    shown to the person who acted, and notes on what the QTvoice side saw."""

    title: str
    slug: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    channel: str = CHANNEL
    ok: bool = False


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.qtvoice = QTvoiceSandbox().start()
        self.slack = SlackRecorder(
            bot_token=BOT_TOKEN, channels={CHANNEL: "phones", **DEFAULT_CHANNELS}
        ).start()
        database_url = f"sqlite:///{workdir / 'demo.db'}"
        upgrade(database_url)
        self.settings = Settings(
            _env_file=None,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            qtvoice_api_key=self.qtvoice.api_key,
            qtvoice_webhook_secret=WEBHOOK_SECRET,
            notify_channel=CHANNEL,
            slack_api_url=self.slack.api_url,
            qtvoice_api_url=self.qtvoice.url,
            database_url=database_url,
            timezone="America/New_York",
            reconcile_interval_seconds=0,
            admin_user_ids=[DEMO_USER],
            upload_recordings=True,
            metrics_token=METRICS_TOKEN,
        )
        #: The admin's App Home as last published (the incident flow opens it).
        self.admin_home: list[dict[str, Any]] = []
        self.bot = BackgroundServer(create_app(Runtime.create(self.settings))).start()
        self.driver = SlackDriver(self.bot.url, SIGNING_SECRET, self.slack)
        self.webhook_url = f"{self.bot.url}/qtvoice/webhooks"
        # The sandbox confirms texts the bot sends with sms.sent / sms.delivered, as QTvoice does.
        self.qtvoice.state.webhook_url = self.webhook_url
        self.qtvoice.state.webhook_secret = WEBHOOK_SECRET

    def close(self) -> None:
        self.driver.close()
        self.bot.stop()
        self.slack.stop()
        self.qtvoice.stop()

    def send(self, event: str, **data: Any) -> dict[str, Any]:
        envelope = sample_event(event, **data)
        self._as_qtvoice(envelope).raise_for_status()
        sent: dict[str, Any] = envelope["data"]
        return sent

    def _as_qtvoice(self, envelope: dict[str, Any]) -> httpx.Response:
        """Send a webhook as QTvoice does, which also holds the object it tells of: the
        demo's voicemail is then in `/qtvoice voicemails`, its calls in the history."""
        self.qtvoice.state.record_event(envelope["event"], envelope["data"])
        return send_webhook(self.webhook_url, envelope, WEBHOOK_SECRET)

    def caller_texts(self, text: str) -> int:
        """The demo's customer texts the main line `text` (STOP, START, …): the bot's status."""
        envelope = sample_event("sms.received", from_=CUSTOMER_NUMBER, to=MAIN_LINE, message=text)
        return self._as_qtvoice(envelope).status_code

    def wait(self, what: str, predicate: Callable[[], Any]) -> Any:
        try:
            return self.slack.wait_for(predicate, timeout=STEP_TIMEOUT)
        except AssertionError:
            raise DemoStepFailed(what) from None

    def channel_messages(self) -> list[dict[str, Any]]:
        return self.slack.messages(CHANNEL)

    def play(self, on_flow: Callable[[int, Flow], None] = lambda number, flow: None) -> list[Flow]:
        """Every scenario in turn; a stuck one is a failed flow and the next one still runs."""
        flows: list[Flow] = []
        for scenario in (
            self.missed_call,
            self.voicemail_transcribed_later,
            self.sms_answered_in_thread,
            self.click_to_call,
            self.live_call_card,
            self.nobody_forgets_a_caller,
            self.at_hand_in_slack,
            self.an_incident_told_once,
        ):
            try:
                flow = scenario()
            except DemoStepFailed as failed:
                title = scenario.__name__.replace("_", " ")
                flow = Flow(title, scenario.__name__, notes=[f"stuck at: {failed}"])
            flows.append(flow)
            on_flow(len(flows), flow)
        self._settle()
        return flows

    def _settle(self) -> None:
        """Wait until the bot has delivered every event the flows gave it (a flow may end
        before a post it caused lands, paced behind the channel's earlier ones), so what is
        drawn afterwards is what Slack ends up with."""
        try:
            self.slack.wait_for(
                lambda: (
                    httpx.get(f"{self.bot.url}/healthz", verify=client_context())
                    .json()
                    .get("pending")
                    == 0
                ),
                timeout=STEP_TIMEOUT,
            )
        except AssertionError:
            print("(some events were still being delivered when the demo ended)")

    def workspace(self) -> tuple[slack_html.Names, list[slack_html.Conversation]]:
        """What the Slack stand-in holds now, as the panes `html.py` draws."""
        return workspace_state(self.slack, pinned=[CHANNEL, COMMAND_CHANNEL])

    def serve_page(self) -> BackgroundServer:
        """The stand-in's live page (see `bot.sandbox.slack.page`), started."""
        page = SlackPage(
            self.slack,
            self.driver,
            zone=self.settings.zone,
            pinned=[CHANNEL, COMMAND_CHANNEL],
            caller="John Doe, (215) 555-1234",
            caller_texts=self.caller_texts,
        )
        return BackgroundServer(page.app(), lifespan="off").start()

    # The scenarios

    def missed_call(self) -> Flow:
        flow = Flow("A missed call from a known contact", "missed-call")
        call = self.send("call.missed", from_=CUSTOMER_NUMBER, to=MAIN_LINE)
        message = self.wait("the missed call is posted", lambda: self._find(call["id"]))
        flow.messages.append(message)
        flow.ok = "John Doe" in message_text(message)
        return flow

    def voicemail_transcribed_later(self) -> Flow:
        flow = Flow("A voicemail, its transcript arriving later", "voicemail")
        voicemail = self.send("voicemail.new", from_=CUSTOMER_NUMBER, transcription=None)
        first = self.wait("the voicemail is posted", lambda: self._find_text("Transcribing"))
        flow.notes.append("posted: " + first_line_with(first, "Transcribing"))
        transcript = "Hi, it's John from Acme. Can you call me back about the order?"
        self.send(
            "voicemail.transcribed",
            id=voicemail["id"],
            callId=voicemail["callId"],
            from_=CUSTOMER_NUMBER,
            transcription=transcript,
        )
        updated = self.wait(
            "the same message shows the transcript",
            lambda: self._updated(first["ts"], "call me back"),
        )
        flow.notes.append(f"updated in place (same ts {updated['ts']}) with the transcript")
        flow.messages.append(updated)
        flow.ok = True
        return flow

    def sms_answered_in_thread(self) -> Flow:
        flow = Flow("A text, answered by a reply in its Slack thread", "sms-thread")
        self._link_demo_user(flow)
        self.send(
            "sms.received", from_=CUSTOMER_NUMBER, to=MAIN_LINE, message="Are you open Saturday?"
        )
        parent = self.wait(
            "the conversation thread opens", lambda: self._find_text("Text conversation")
        )
        self.wait(
            "the text lands in the thread",
            lambda: len(self.slack.thread(CHANNEL, parent["ts"])) >= 2,
        )
        reply = "Yes, 9am to 1pm. See you then!"
        self.driver.message_in_thread(CHANNEL, parent["ts"], reply, user_id=DEMO_USER)
        sent = self.wait(
            "QTvoice receives the outbound text",
            lambda: [
                r
                for r in self.qtvoice.state.requests("POST", "/sms")
                if r.json and r.json.get("message") == reply
            ],
        )[0]
        flow.notes.append(
            f"QTvoice received POST /sms to {sent.json['to']}: {sent.json['message']!r}"
        )
        self.wait(
            "QTvoice's delivery receipt marks the reply",
            lambda: self._reply_marked(parent["ts"], reply, "white_check_mark"),
        )
        flow.messages.extend(self.slack.thread(CHANNEL, parent["ts"]))
        flow.ok = True
        return flow

    def click_to_call(self) -> Flow:
        flow = Flow("/call by a linked user", "call-command", channel=COMMAND_CHANNEL)
        seen = len(self.slack.ephemerals(DEMO_USER))
        delivery = self.driver.slash_command(
            "/call", "(215) 555-1234", user_id=DEMO_USER, channel_id=COMMAND_CHANNEL
        )
        flow.notes.append(f"Slack got its acknowledgement: HTTP {delivery.status_code}")
        placed = self.wait(
            "QTvoice receives POST /calls", lambda: self.qtvoice.state.requests("POST", "/calls")
        )[0]
        flow.notes.append(
            f"QTvoice received POST /calls to {placed.json['to']} from extension {placed.json.get('extension_id')}"
        )
        flow.ephemerals = self.wait(
            "the user sees the result", lambda: self.slack.ephemerals(DEMO_USER)[seen:]
        )
        flow.ok = bool(placed.json.get("extension_id"))
        return flow

    def live_call_card(self) -> Flow:
        flow = Flow("A live call card, following the call", "live-call")
        answer = self._answer(
            "the route is set", "/qtvoice", f"route {MAIN_LINE} <#{CHANNEL}|phones> live"
        )
        flow.notes.append("/qtvoice route … #phones live → " + message_text(answer))
        call = self.send("call.incoming", from_=CUSTOMER_NUMBER, to=MAIN_LINE)
        card = self.wait("the card rings", lambda: self._find_text("Ringing"))
        ts = card["ts"]
        for event, state in (("call.answered", "On the call"), ("call.completed", "Ended")):
            self.send(event, id=call["id"], from_=CUSTOMER_NUMBER, to=MAIN_LINE)
            card = self.wait(f"the card says {state}", partial(self._updated, ts, state))
            flow.notes.append(f"{event} → the same card (ts {ts}) says {state!r}")
        flow.messages.append(card)
        flow.ok = True
        return flow

    def nobody_forgets_a_caller(self) -> Flow:
        """A missed call taken with I'll take it; one nobody took, escalated; the digest,
        on a clock the demo moves (the jobs run as the scheduler's leader runs them)."""
        flow = Flow("Nobody forgets a caller: taken, escalated, the digest", "follow-up")
        taken = self.send("call.missed", from_="+12675550142", to=MAIN_LINE)
        posted = self.wait("the missed call is posted", lambda: self._find(taken["id"]))
        self._press(posted, TAKE_IT)
        flow.messages.append(
            self.wait("it shows who took it", partial(self._updated, posted["ts"], "Taken by"))
        )
        arrived = utcnow() - timedelta(minutes=20)
        waiting = self.send(
            "call.missed", from_="+12675550199", to=MAIN_LINE, createdAt=iso_timestamp(arrived)
        )
        parent = self.wait("the second call is posted", lambda: self._find(waiting["id"]))
        escalated = asyncio.run(self._tick(escalate, utcnow()))
        flow.notes.append(f"escalation job, 20 minutes after the second call: {escalated} reply")
        flow.messages.extend(
            self.wait(
                "nobody took it: escalated", lambda: self.slack.thread(CHANNEL, parent["ts"])[1:]
            )
        )
        tomorrow = datetime.now(self.settings.zone).date() + timedelta(days=1)
        digest_at = datetime.combine(tomorrow, time(8, 0), self.settings.zone)
        asyncio.run(self._tick(send_digests, digest_at))
        flow.notes.append(f"digest job at {digest_at:%a %H:%M} the next morning")
        flow.messages.append(self.wait("the digest", lambda: self._find_text("Daily digest")))
        flow.ok = True
        return flow

    def at_hand_in_slack(self) -> Flow:
        """Everything QTvoice knows, at hand: a caller saved as a contact from their missed
        call, a number spoken in a voicemail with its own Call button, the recording in the
        thread, the voicemail assigned to Bob, a saved reply sent (and who sent it), and the
        weekly report on a clock the demo moves."""
        flow = Flow("At hand in Slack: contacts, numbers, recordings, assign, replies", "at-hand")
        call = self.send("call.missed", from_=NEW_CALLER, to=MAIN_LINE)
        missed = self.wait("the unknown caller's call is posted", lambda: self._find(call["id"]))
        self._press(missed, SAVE_CONTACT)
        self.wait("the contact form opens", lambda: self._form_opened(CONTACT_MODAL))
        fields = {"first_name": "Sam", "last_name": "Stone", "company": "Stone & Co"}
        self.driver.view_submission(
            CONTACT_MODAL,
            {name: {name: value} for name, value in fields.items()},
            user_id=DEMO_USER,
        )
        created = self.wait(
            "QTvoice receives the contact", lambda: self.qtvoice.state.requests("POST", "/contacts")
        )[0]
        flow.notes.append(f"Save contact → QTvoice received POST /contacts {created.json}")
        renamed = self.wait(
            "the call now names Sam", partial(self._updated, missed["ts"], "Sam Stone")
        )
        flow.notes.append("the missed call now reads: " + message_text(renamed).splitlines()[0])

        recording = self.qtvoice.state.add_recording("vm_demo.mp3", DEMO_AUDIO)
        spoken = "Hi, it's John. My cell is 267 555 0123, call me there after 5 please."
        self.send(
            "voicemail.new",
            from_=CUSTOMER_NUMBER,
            to=MAIN_LINE,
            transcription=spoken,
            recordingUrl=self.qtvoice.url.removesuffix("/api/v1") + recording,
        )
        posted = self.wait("the voicemail is posted", lambda: self._find_text("My cell"))
        flow.notes.append("the number in the transcript got its own Call and Text buttons")
        audio = self.wait(
            "the recording lands in the voicemail's thread",
            lambda: [m for m in self.slack.thread(CHANNEL, posted["ts"]) if m.get("files")],
        )
        flow.notes.append(f"the recording is a file in the thread: {audio[0]['files'][0]['title']}")
        self.driver.pick_user(
            ASSIGN_TO, "U0BOB", user_id=DEMO_USER, channel_id=CHANNEL, message_ts=posted["ts"]
        )
        flow.messages.append(
            self.wait("it is assigned to Bob", partial(self._updated, posted["ts"], "Assigned to"))
        )
        flow.messages.extend(audio)
        flow.notes.append("Bob got the voicemail in a DM, with the same buttons")

        added = self._answer("the saved reply is added", "/qtvoice", f"replies add hours {HOURS}")
        flow.notes.append("/qtvoice replies add hours … → " + message_text(added))
        self._press(self.slack.message(CHANNEL, missed["ts"]) or missed, TEXT_BACK)
        self.wait("the text form opens", lambda: self._form_opened("sms_send"))
        picked = {"type": "static_select", "selected_option": {"value": "hours"}}
        self.driver.view_submission(
            "sms_send",
            {"sms_message": {"message": ""}, "sms_saved": {"saved": picked}},
            user_id=DEMO_USER,
        )
        self.wait(
            "the saved reply is sent and shows who sent it",
            lambda: next(
                (
                    m
                    for m in self.channel_messages()
                    if "sent by" in message_text(m) and HOURS in message_text(m)
                ),
                None,
            ),
        )
        flow.notes.append("the saved reply was texted; its thread says it was sent by Alice")

        monday = datetime.now(self.settings.zone).date()
        monday += timedelta(days=7 - monday.weekday())
        asyncio.run(self._tick(send_reports, datetime.combine(monday, time(9), self.settings.zone)))
        flow.notes.append(f"weekly report job at {monday:%a %b} {monday.day} 09:00")
        flow.messages.append(
            self.wait("the weekly report", lambda: self._find_text("Weekly report"))
        )
        flow.ok = True
        return flow

    def _press(self, message: dict[str, Any], action_id: str) -> None:
        """The demo's person presses a button of a message in the channel."""
        value = next(
            element["value"]
            for block in message["blocks"]
            for element in block.get("elements") or []
            if element.get("action_id") == action_id
        )
        self.driver.block_action(
            action_id, value, user_id=DEMO_USER, channel_id=CHANNEL, message_ts=message["ts"]
        )

    def _form_opened(self, callback_id: str) -> list[dict[str, Any]]:
        return [v for v in self.slack.views_opened(DEMO_USER) if v["callback_id"] == callback_id]

    def an_incident_told_once(self) -> Flow:
        """QTvoice takes a call whose webhook never comes: the reconcile poller finds it, an
        incident opens, the admin gets one DM and sees it atop their App Home; /metrics."""
        dm = self.slack.im_channel(DEMO_USER)
        flow = Flow("Running it as a service: an incident, told once", "incident", channel=dm)
        self.qtvoice.state.add_call("+12675550111", MAIN_LINE, status="missed")
        found = asyncio.run(self._poll())
        flow.notes.append(f"QTvoice's webhook never came; the reconcile poller found {found}")
        flow.messages.extend(
            self.wait(
                "the admin is told",
                lambda: [m for m in self.slack.messages(dm) if "Incident" in str(m.get("text"))],
            )
        )
        before = len(self.slack.views_published(DEMO_USER))
        self.driver.app_home_opened(DEMO_USER)
        self.admin_home = self.wait(
            "the App Home shows it", lambda: self.slack.views_published(DEMO_USER)[before:]
        )[-1]["blocks"]
        scrape = httpx.get(
            f"{self.bot.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        flow.notes += [
            f"`{line}`"
            for line in scrape.text.splitlines()
            if line.startswith(METRICS_SHOWN) and not line.endswith(" 0.0")
        ]
        flow.ok = scrape.status_code == 200 and "Open incident" in str(self.admin_home)
        return flow

    async def _poll(self) -> int:
        """One run of the reconcile poller, as the scheduler's leader runs it."""
        runtime = Runtime.create(self.settings)
        try:
            return await reconcile_watched(runtime, 300)
        finally:
            await runtime.close()

    async def _tick(self, job: Callable[[Runtime, datetime], Awaitable[int]], now: datetime) -> int:
        """One run of a scheduled job at `now`, in a runtime of its own like the leader's."""
        runtime = Runtime.create(self.settings)
        try:
            return await job(runtime, now)
        finally:
            await runtime.close()

    # Helpers

    def _link_demo_user(self, flow: Flow) -> None:
        answer = self._answer("the user is linked", "/qtvoice", f"link {DEMO_EXTENSION}")
        flow.notes.append("/qtvoice link 101 → " + message_text(answer).splitlines()[0])

    def _answer(self, what: str, command: str, text: str) -> dict[str, Any]:
        """The demo's person types `command text`; the bot's (last) answer to it."""
        delivery = self.driver.slash_command(
            command, text, user_id=DEMO_USER, channel_id=COMMAND_CHANNEL
        )
        key = str(delivery.response_url_key)
        answers: list[dict[str, Any]] = self.wait(what, lambda: self.slack.responses(key))
        return answers[-1]

    def _find(self, needle: str) -> dict[str, Any] | None:
        for message in self.channel_messages():
            if needle in str(message.get("blocks")) or needle in str(message.get("metadata")):
                return message
        return None

    def _find_text(self, needle: str) -> dict[str, Any] | None:
        return next((m for m in self.channel_messages() if needle in message_text(m)), None)

    def _updated(self, ts: str, needle: str) -> dict[str, Any] | None:
        message = self.slack.message(CHANNEL, ts)
        return message if message and needle in message_text(message) else None

    def _reply_marked(self, parent_ts: str, reply: str, reaction: str) -> bool:
        return any(
            message.get("text") == reply
            and reaction in [mark["name"] for mark in message.get("reactions") or []]
            for message in self.slack.thread(CHANNEL, parent_ts)
        )


class DemoStepFailed(Exception):
    pass


def message_text(message: dict[str, Any]) -> str:
    """A Slack message as the text a person reads: its blocks, flattened; else its text."""
    lines: list[str] = []
    for block in message.get("blocks") or []:
        lines.extend(_block_lines(block))
    lines.extend(f"🔊 {file.get('title')} (a file)" for file in message.get("files") or [])
    if not lines:
        lines.append(str(message.get("text", "")))
    return "\n".join(line for line in lines if line.strip())


def _block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind in ("section", "header"):
        lines = [_text(block.get("text"))]
        lines += [_text(field) for field in block.get("fields") or []]
        return lines
    if kind == "context":
        return [" · ".join(_text(element) for element in block.get("elements") or [])]
    if kind == "actions":
        labels = [
            _text(element.get("text") or element.get("placeholder"))
            for element in block.get("elements") or []
        ]
        return ["[ " + " ] [ ".join(labels) + " ]"]
    if kind == "rich_text":
        return [_rich_text(block)]
    if kind == "table":
        return [" | ".join(_text(cell) for cell in row) for row in block.get("rows") or []]
    return []


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return html.unescape(str(obj.get("text", "")))
    return ""


def _rich_text(block: dict[str, Any]) -> str:
    parts: list[str] = []
    for section in block.get("elements") or []:
        parts += [str(element.get("text", "")) for element in section.get("elements") or []]
    return "".join(parts)


def first_line_with(message: dict[str, Any], needle: str) -> str:
    return next((line for line in message_text(message).splitlines() if needle in line), "")


def write_html(demo: Demo, flows: list[Flow], path: Path) -> None:
    """`demo.html`: the sandbox workspace drawn as Slack draws it, below what each flow did."""
    names, conversations = demo.workspace()
    items = "".join(
        f"<li><b>{html.escape(flow.title)}</b> "
        f"<span class='{'ok' if flow.ok else 'failed'}'>{'ok' if flow.ok else 'failed'}</span>"
        f"<br>{'<br>'.join(slack_html.mrkdwn(note, names) for note in flow.notes)}</li>"
        for flow in flows
    )
    home = "".join(slack_html.block(block, names) for block in demo.admin_home)
    intro = (
        f"<div class='demo-notes'><h1>qtslack demo</h1><ol>{items}</ol>"
        + (f"<h2>App Home of an admin</h2><div class='app-home'>{home}</div>" if home else "")
        + "</div>"
    )
    body = slack_html.workspace(TEAM_NAME, conversations, names, demo.settings.zone, intro=intro)
    path.write_text(slack_html.page("qtslack demo", body), encoding="utf-8")


SHOT_WIDTH = 640
"""Width in CSS pixels of each README picture (see `write_flow_page`)."""


def write_flow_page(demo: Demo, flow: Flow, path: Path) -> None:
    """One flow's messages alone in their channel's pane, `SHOT_WIDTH` wide: a README picture."""
    names, conversations = demo.workspace()
    title = next((c.name for c in conversations if c.id == flow.channel), flow.channel)
    pane = slack_html.Conversation(flow.channel, title, flow.messages, flow.ephemerals)
    body = (
        f"<div class='shot' style='width:{SHOT_WIDTH}px'>"
        f"{slack_html.conversation(pane, names, demo.settings.zone)}</div>"
        # Tells a headless browser how tall to make the picture (scripts/screenshots.py).
        "<script>document.body.dataset.shotHeight = Math.ceil("
        "document.querySelector('.shot').getBoundingClientRect().bottom)</script>"
    )
    path.write_text(slack_html.page(flow.title, body), encoding="utf-8")


def write_home_page(demo: Demo, path: Path) -> None:
    """The admin's App Home as the incident flow left it, `SHOT_WIDTH` wide: a README picture."""
    names, _ = demo.workspace()
    home = "".join(slack_html.block(block, names) for block in demo.admin_home)
    body = (
        f"<div class='shot app-home' style='width:{SHOT_WIDTH}px;padding:16px'>"
        f"<h2>Home</h2>{home}</div>"
        "<script>document.body.dataset.shotHeight = Math.ceil("
        "document.querySelector('.shot').getBoundingClientRect().bottom)</script>"
    )
    path.write_text(slack_html.page("App Home", body), encoding="utf-8")


def reactions_label(message: dict[str, Any]) -> str:
    """How the bot marked a message, e.g. " (reactions: 📤 ✅)"; "" when it did not."""
    marks = [slack_html.emoji(reaction["name"]) for reaction in message.get("reactions") or []]
    return f" (reactions: {' '.join(marks)})" if marks else ""


def print_flow(number: int, flow: Flow) -> None:
    print(f"\n{number}. {flow.title}: {'ok' if flow.ok else 'FAILED'}")
    for note in flow.notes:
        print(f"   · {note}")
    for message in flow.messages + flow.ephemerals:
        print("   ┌─ Slack" + reactions_label(message))
        for line in message_text(message).splitlines():
            print(f"   │ {line}")
        print("   └─")


def this_python() -> str:
    """The Python running the demo, as a command typed here runs it: `.venv/bin/python` in
    the clone. A bare `python` is the system's, without the bot's packages."""
    python = os.path.relpath(sys.executable)
    return python if not python.startswith("..") else sys.executable


def keep_running_command() -> str:
    """The command that plays the demo again and keeps it up to click and type in."""
    return f"{this_python()} -m bot demo --keep-running"


def print_explore(demo: Demo, page_url: str) -> None:
    """What to open and what to paste while `--keep-running` keeps everything up."""
    python = this_python()
    print(f"\nSlack stand-in: {page_url}/")
    print("  Click the buttons, type /qtvoice help or /call (215) 555-1234, reply in a thread.")
    print(
        "Send the bot another QTvoice event (any of: call.missed, voicemail.new, sms.received, …):"
    )
    print(
        f"  {python} -m bot send-webhook sms.received --url {demo.webhook_url} --secret {WEBHOOK_SECRET}"
    )
    print(f"Bot: {demo.bot.url} · QTvoice sandbox: {demo.qtvoice.url}")
    print("Press Ctrl+C to stop.")


def run_demo(*, keep_running: bool = False, html_path: Path = Path("demo.html")) -> int:
    print(
        "qtslack demo: the real bot, a QTvoice sandbox and a Slack recorder, all on this machine."
    )
    with tempfile.TemporaryDirectory(prefix="qtslack-demo-") as workdir:
        demo = Demo(Path(workdir))
        flows: list[Flow] = []
        try:
            flows = demo.play(on_flow=print_flow)
            write_html(demo, flows, html_path)
            print(
                f"\nWrote {html_path.resolve().as_uri()}: open it in a browser to see the"
                " workspace as Slack shows it."
            )
            if not keep_running:
                print(f"To click and type in it yourself: {keep_running_command()}")
            else:
                page = demo.serve_page()
                try:
                    print_explore(demo, page.url)
                    threading.Event().wait()
                finally:
                    page.stop()
        except KeyboardInterrupt:
            pass
        finally:
            demo.close()
    if not flows:
        print("\nStopped before the first flow completed.")
        return 1
    failed = [flow.title for flow in flows if not flow.ok]
    print("\nEvery flow completed." if not failed else f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0
