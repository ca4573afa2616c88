"""`python -m bot demo`: the whole product, end to end, on one machine in a few seconds.

It serves the real bot (the same app `serve` runs, on a throwaway SQLite file) against the
bundled QTvoice sandbox and a local Slack Web API recorder, plays the contract's scenarios as
QTvoice and Slack would, and prints every Slack message that resulted. `demo.html` shows them
as cards. Exit 0 only when every flow completed.
"""

from __future__ import annotations

import html
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox, send_webhook
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE, sample_event
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import SlackDriver, SlackRecorder
from bot.store.migrate import upgrade
from bot.web import create_app

WEBHOOK_SECRET = "whsec_demo"
SIGNING_SECRET = "demo_signing_secret"
BOT_TOKEN = "xoxb-demo"
CHANNEL = "C0PHONES"
DEMO_USER = "U0ALICE"
DEMO_EXTENSION = "101"
STEP_TIMEOUT = 15.0


@dataclass
class Flow:
    title: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ok: bool = False


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.qtvoice = QTvoiceSandbox().start()
        self.slack = SlackRecorder(bot_token=BOT_TOKEN).start()
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
        )
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
        response = send_webhook(self.webhook_url, envelope, WEBHOOK_SECRET)
        response.raise_for_status()
        sent: dict[str, Any] = envelope["data"]
        return sent

    def wait(self, what: str, predicate: Callable[[], Any]) -> Any:
        try:
            return self.slack.wait_for(predicate, timeout=STEP_TIMEOUT)
        except AssertionError:
            raise DemoStepFailed(what) from None

    def channel_messages(self) -> list[dict[str, Any]]:
        return self.slack.messages(CHANNEL)

    # The scenarios

    def missed_call(self) -> Flow:
        flow = Flow("A missed call from a known contact")
        call = self.send("call.missed", from_=CUSTOMER_NUMBER, to=MAIN_LINE)
        message = self.wait("the missed call is posted", lambda: self._find(call["id"]))
        flow.messages.append(message)
        flow.ok = "John Doe" in message_text(message)
        return flow

    def voicemail_transcribed_later(self) -> Flow:
        flow = Flow("A voicemail, its transcript arriving later")
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
        flow = Flow("A text, answered by a reply in its Slack thread")
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
        flow = Flow("/call by a linked user")
        delivery = self.driver.slash_command("/call", "(215) 555-1234", user_id=DEMO_USER)
        flow.notes.append(f"Slack got its acknowledgement: HTTP {delivery.status_code}")
        placed = self.wait(
            "QTvoice receives POST /calls", lambda: self.qtvoice.state.requests("POST", "/calls")
        )[0]
        flow.notes.append(
            f"QTvoice received POST /calls to {placed.json['to']} from extension {placed.json.get('extension_id')}"
        )
        answer = self.wait(
            "the user sees the result", lambda: self.slack.responses(delivery.response_url_key)
        )
        flow.messages.extend(answer)
        flow.ok = bool(placed.json.get("extension_id"))
        return flow

    # Helpers

    def _link_demo_user(self, flow: Flow) -> None:
        delivery = self.driver.slash_command(
            "/qtvoice", f"link {DEMO_EXTENSION}", user_id=DEMO_USER
        )
        answer = self.wait(
            "the user is linked", lambda: self.slack.responses(delivery.response_url_key)
        )
        flow.notes.append("/qtvoice link 101 → " + message_text(answer[-1]).splitlines()[0])

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
        labels = [_text(element.get("text")) for element in block.get("elements") or []]
        return ["[ " + " ] [ ".join(labels) + " ]"]
    if kind == "rich_text":
        return [_rich_text(block)]
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


def write_html(flows: list[Flow], path: Path) -> None:
    cards = []
    for flow in flows:
        body = "".join(
            f"<div class='msg'>{html.escape(reactions_label(message))}"
            f"<pre>{html.escape(message_text(message))}</pre></div>"
            for message in flow.messages
        )
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in flow.notes)
        status = "ok" if flow.ok else "failed"
        cards.append(
            f"<section><h2>{html.escape(flow.title)} <small>{status}</small></h2><ul>{notes}</ul>{body}</section>"
        )
    path.write_text(
        "<!doctype html><meta charset='utf-8'><title>qtslack demo</title>"
        "<style>body{font:15px system-ui;max-width:720px;margin:2em auto}"
        ".msg{border-left:4px solid #4a154b;padding:.2em 1em;margin:.6em 0;background:#f8f8f8}"
        "pre{white-space:pre-wrap;font:inherit}small{color:#888}</style>"
        "<h1>qtslack demo</h1>" + "".join(cards),
        encoding="utf-8",
    )


def reactions_label(message: dict[str, Any]) -> str:
    """How the bot marked a message, e.g. " (reactions: :outbox_tray:)"; "" when it did not."""
    names = [f":{reaction['name']}:" for reaction in message.get("reactions") or []]
    return f" (reactions: {' '.join(names)})" if names else ""


def print_flow(number: int, flow: Flow) -> None:
    print(f"\n{number}. {flow.title}: {'ok' if flow.ok else 'FAILED'}")
    for note in flow.notes:
        print(f"   · {note}")
    for message in flow.messages:
        print("   ┌─ Slack" + reactions_label(message))
        for line in message_text(message).splitlines():
            print(f"   │ {line}")
        print("   └─")


def run_demo(*, keep_running: bool = False, html_path: Path = Path("demo.html")) -> int:
    print(
        "qtslack demo: the real bot, a QTvoice sandbox and a Slack recorder, all on this machine."
    )
    with tempfile.TemporaryDirectory(prefix="qtslack-demo-") as workdir:
        demo = Demo(Path(workdir))
        flows: list[Flow] = []
        try:
            for scenario in (
                demo.missed_call,
                demo.voicemail_transcribed_later,
                demo.sms_answered_in_thread,
                demo.click_to_call,
            ):
                try:
                    flow = scenario()
                except DemoStepFailed as stuck:
                    flow = Flow(scenario.__name__.replace("_", " "), notes=[f"stuck at: {stuck}"])
                flows.append(flow)
                print_flow(len(flows), flow)
            write_html(flows, html_path)
            print(f"\nWrote {html_path}.")
            if keep_running:
                print(
                    f"Bot: {demo.bot.url} · QTvoice sandbox: {demo.qtvoice.url} · Slack recorder: {demo.slack.url}"
                )
                print("Press Ctrl+C to stop.")
                threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            demo.close()
    failed = [flow.title for flow in flows if not flow.ok]
    print("\nEvery flow completed." if not failed else f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0
