"""The Slack stand-in's own page: the recorded workspace drawn as Slack, live and clickable.

`demo --keep-running` serves it so a person can explore the bot with no Slack at all:

- `GET /` draws every channel and DM as `html.py` does, and polls `GET /state` each second
  to redraw when something changes.
- `GET /state` is JSON: `version` (changes whenever the drawing does), `panes` (the HTML)
  and `conversations`, each `{id, name, messages: [{ts, thread_ts, user, text, ephemeral}]}`.
- `POST /click` `{channel, ts, action_id, value, user}` presses a button of a message, or of
  an ephemeral shown to `user`: the driver sends the bot the signed `block_actions` Slack
  would (for an ephemeral, `container.is_ephemeral` and no `message`).
- `POST /say` `{channel, user, text, thread_ts?}` sends a slash command when `text` starts
  with "/", else a reply in the thread `thread_ts`, signed, as that user.

- `POST /home` `{user}` opens the app's Home tab as that person (Slack's `app_home_opened`);
  what the bot publishes is drawn as a pane of its own, and `POST /home/click` `{user,
  action_id, value}` presses one of its buttons (the admins' Replay).
- `POST /text` `{text}` texts the business as the caller (`caller`): STOP, START or anything,
  through QTvoice's signed `sms.received` webhook.

- A modal the bot opens (views.open) is drawn over the page; `POST /submit`
  `{view_id, values: {block_id: {action_id: text}}}` sends Slack's signed `view_submission`
  (errors the bot answers with stay on the modal) and `POST /close` `{view_id}` dismisses it.
  A menu's (static_select's) text is the value of the option picked, "" for none.

The POSTs answer `{"ok": true, "status": <the bot's HTTP status>}`, or 400 with
`{"ok": false, "error": ...}` for a request the page cannot turn into one of Slack's.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.slack import html as slack_html
from bot.sandbox.slack.driver import SlackDriver
from bot.sandbox.slack.recorder import SlackRecorder
from bot.sandbox.slack.team import BOT_USER_ID, TEAM_NAME
from bot.sandbox.slack.workspace import CHANNEL_ID, USER_ID


def workspace_state(
    recorder: SlackRecorder, pinned: Sequence[str] = ()
) -> tuple[slack_html.Names, list[slack_html.Conversation]]:
    """Everything the recorder holds, as panes: the `pinned` channels first, then every other
    conversation with messages or ephemerals, then a DM with each person."""
    users = recorder.users()
    ephemerals = recorder.ephemerals()
    shown = [str(e["channel"]) for e in ephemerals if e.get("channel")]
    ids = list(dict.fromkeys([*pinned, *recorder.conversations(), *shown]))
    ids += [recorder.im_channel(u.id) for u in users if not u.is_bot]
    channels = [c for c in dict.fromkeys(ids) if not c.startswith("D")]
    dms = [c for c in dict.fromkeys(ids) if c.startswith("D")]
    names = slack_html.Names(
        users={user.id: user.real_name or user.name for user in users},
        channels={channel: recorder.channel_name(channel) for channel in channels},
        bot_user_id=BOT_USER_ID,
    )
    conversations = [
        slack_html.Conversation(
            channel,
            names.user(channel[1:]) if channel in dms else names.channel(channel),
            recorder.messages(channel),
            [e for e in ephemerals if e.get("channel") == channel],
        )
        for channel in channels + dms
    ]
    return names, conversations


_SCRIPT = """
<script>
let version = "";
let thread = null;
const $ = (id) => document.getElementById(id);
async function poll() {
  try {
    const state = await (await fetch("state")).json();
    if (state.version !== version) {
      version = state.version;
      $("panes").innerHTML = state.panes;
      drawModal(state.modal);
    }
  } catch (e) {}
  setTimeout(poll, 1000);
}
async function post(path, body) {
  const answer = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify(body)});
  const result = await answer.json();
  $("status").textContent = result.ok ? `sent · the bot answered HTTP ${result.status}` : result.error;
  poll();
}
function drawModal(drawn) {
  const box = $("modal"), typed = {};
  const key = (input) => input.dataset.blockId + "/" + input.dataset.actionId;
  box.querySelectorAll(".input").forEach((input) => { typed[key(input)] = input.value; });
  box.innerHTML = drawn;
  box.hidden = !drawn;
  box.querySelectorAll(".input").forEach((input) => {
    if (key(input) in typed) input.value = typed[key(input)];
  });
}
document.addEventListener("submit", (event) => {
  const form = event.target.closest(".modal");
  if (!form) return;
  event.preventDefault();
  const values = {};
  form.querySelectorAll(".input").forEach((input) => {
    (values[input.dataset.blockId] ||= {})[input.dataset.actionId] = input.value;
  });
  post("submit", {view_id: form.dataset.viewId, values: values});
});
function pickThread(msg) {
  const parent = msg.parentElement.closest(".msg") || msg;
  thread = {channel: parent.dataset.channel, ts: parent.dataset.ts};
  $("channel").value = thread.channel;
  // Named by its first message's first line (the line above it is its author and time).
  const first = parent.querySelector(":scope > .content > :not(.meta)");
  const text = first ? first.innerText.trim().split("\\n")[0] : "";
  $("thread").textContent = "Replying in thread: " + text.slice(0, 60);
  $("clear").hidden = false;
}
document.addEventListener("click", (event) => {
  const closing = event.target.closest(".modal-close");
  if (closing) {
    post("close", {view_id: closing.closest(".modal").dataset.viewId});
    return;
  }
  if (event.target.closest("#modal")) return;
  const link = event.target.closest(".sidebar a");
  if (link) {
    document.querySelectorAll(".sidebar a").forEach((a) => a.classList.toggle("active", a === link));
    if ([...$("channel").options].some((o) => o.value === link.dataset.channel)) {
      $("channel").value = link.dataset.channel;
    }
    return;
  }
  if (event.target.closest("#open-home")) {
    post("home", {user: $("user").value});
    return;
  }
  if (event.target.closest("#send-text")) {
    textAsCaller();
    return;
  }
  const button = event.target.closest("button[data-action-id]");
  const home = event.target.closest(".home");
  if (button && home) {
    post("home/click", {user: home.dataset.user, action_id: button.dataset.actionId,
                        value: button.dataset.value});
    return;
  }
  const msg = event.target.closest(".msg");
  if (button && msg) {
    post("click", {channel: msg.dataset.channel, ts: msg.dataset.ts, user: $("user").value,
                   action_id: button.dataset.actionId, value: button.dataset.value});
  } else if (msg && !event.target.closest("a")) {
    pickThread(msg);
  }
});
$("clear").addEventListener("click", () => {
  thread = null; $("thread").textContent = ""; $("clear").hidden = true;
});
function textAsCaller() {
  const text = $("caller-text").value;
  if (text.trim()) post("text", {text: text});
  $("caller-text").value = "";
}
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  if ($("caller-text") && document.activeElement === $("caller-text")) {
    textAsCaller();
    return;
  }
  const text = $("text").value;
  if (!text.trim()) return;
  post("say", {channel: $("channel").value, user: $("user").value, text: text,
               thread_ts: thread && thread.channel === $("channel").value ? thread.ts : null});
  $("text").value = "";
});
poll();
</script>
"""

_COMPOSER_STYLE = """<style>
main{padding-bottom:150px}
.msg{cursor:pointer}
#composer{position:fixed;left:220px;right:0;bottom:0;background:#fff;border-top:1px solid #ddd;padding:10px 20px}
#composer .row{display:flex;gap:8px;align-items:center}
#composer input[type=text]{flex:1;font:15px Lato,Helvetica,Arial,sans-serif;padding:9px;border:1px solid #868686;border-radius:8px}
#composer select{font:14px Lato,Helvetica,Arial,sans-serif;padding:6px}
#composer .hint{color:#616061;font-size:12px;margin-top:4px}
#thread{color:#1264a3;font-size:13px}
#composer .caller{margin-top:6px;font-size:13px}
[hidden]{display:none !important}
.overlay{position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:10}
</style>"""


def _composer(
    users: Sequence[tuple[str, str]], channels: Sequence[tuple[str, str]], caller: str | None
) -> str:
    def options(items: Sequence[tuple[str, str]]) -> str:
        return "".join(
            f'<option value="{html.escape(value)}">{html.escape(label)}</option>'
            for value, label in items
        )

    return (
        '<form id="composer"><div class="row">'
        f'<label>As <select id="user">{options(users)}</select></label>'
        f'<label>in <select id="channel">{options(channels)}</select></label>'
        '<input type="text" id="text" autocomplete="off" '
        'placeholder="/qtvoice help · /call (215) 555-1234 · or a thread reply">'
        '<button class="btn primary" type="submit">Send</button>'
        '<button class="btn" type="button" id="open-home">Open Home tab</button></div>'
        + (
            '<div class="row caller"><label>Text the business as the caller '
            f"{html.escape(caller)}</label>"
            '<input type="text" id="caller-text" autocomplete="off" '
            'placeholder="STOP · START · any text">'
            '<button class="btn" type="button" id="send-text">Text</button></div>'
            if caller
            else ""
        )
        + '<div class="hint"><span id="thread"></span> <button type="button" id="clear" '
        'class="btn" hidden>✕</button> Click a message to reply in its thread; click its '
        'buttons to press them. <span id="status"></span></div></form>'
    )


class SlackPage:
    """The live page over `recorder`, sending clicks and commands through `driver`.

    `pinned` channels come first in the sidebar; times are shown in `zone`.
    """

    def __init__(
        self,
        recorder: SlackRecorder,
        driver: SlackDriver,
        *,
        zone: ZoneInfo,
        pinned: Sequence[str] = (),
        caller: str | None = None,
        caller_texts: Callable[[str], int] | None = None,
    ) -> None:
        self.recorder = recorder
        self.driver = driver
        self.zone = zone
        self.pinned = tuple(pinned)
        #: Who the caller is (shown as it is), and how to text the business as them
        #: (QTvoice's webhook; the bot's HTTP status). None: the page offers no caller.
        self.caller = caller
        self.caller_texts = caller_texts
        #: Modals already submitted or closed here (or open before the page started).
        self._dismissed = {view["id"] for view in recorder.views_opened()}
        self._errors: dict[str, dict[str, str]] = {}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self._index, methods=["GET"]),
                Route("/state", self._state, methods=["GET"]),
                Route("/click", self._click, methods=["POST"]),
                Route("/say", self._say, methods=["POST"]),
                Route("/submit", self._submit, methods=["POST"]),
                Route("/close", self._close, methods=["POST"]),
                Route("/home", self._home, methods=["POST"]),
                Route("/home/click", self._home_click, methods=["POST"]),
                Route("/text", self._text, methods=["POST"]),
            ]
        )

    def _drawn(self) -> tuple[slack_html.Names, list[slack_html.Conversation], str, str]:
        """The panes (each person's Home tab once opened first) and the open modal (or "")."""
        names, conversations = workspace_state(self.recorder, self.pinned)
        panes = self._homes(names) + "".join(
            slack_html.conversation(c, names, self.zone) for c in conversations
        )
        opened = self._open_modal()
        modal = ""
        if opened is not None:
            view = opened[1]
            modal = slack_html.modal(view, names, errors=self._errors.get(view["id"]))
        return names, conversations, panes, modal

    def _homes(self, names: slack_html.Names) -> str:
        """The Home tab of each person who opened it, as the bot last published it."""
        return "".join(
            slack_html.home_tab(published[-1], names, user.id)
            for user in self.recorder.users()
            if (published := self.recorder.views_published(user.id))
        )

    def _open_modal(self) -> tuple[str, dict[str, Any]] | None:
        """The person and the view of the latest modal the bot opened and nobody closed."""
        for view in reversed(self.recorder.views_opened()):
            if view["id"] in self._dismissed:
                continue
            for user in self.recorder.users():
                if any(v["id"] == view["id"] for v in self.recorder.views_opened(user.id)):
                    return user.id, view
        return None

    async def _index(self, request: Request) -> Response:
        names, conversations, _, modal = self._drawn()
        people = [(u.id, u.real_name or u.name) for u in self.recorder.users() if not u.is_bot]
        channels = [(c.id, c.title) for c in conversations if not c.is_dm]
        body = slack_html.workspace(
            TEAM_NAME,
            conversations,
            names,
            self.zone,
            homes=self._homes(names),
            after=_composer(people, channels, self.caller)
            + f'<div id="modal" class="overlay"{"" if modal else " hidden"}>{modal}</div>'
            + _SCRIPT,
        )
        return HTMLResponse(
            slack_html.page(f"{TEAM_NAME} · Slack stand-in", body, extra_head=_COMPOSER_STYLE)
        )

    async def _state(self, request: Request) -> Response:
        _, conversations, panes, modal = self._drawn()
        listed = [
            {
                "id": c.id,
                "name": c.name,
                "messages": [_listed(m, ephemeral=False) for m in c.messages]
                + [_listed(e, ephemeral=True) for e in c.ephemerals],
            }
            for c in conversations
        ]
        version = hashlib.sha256((panes + modal).encode()).hexdigest()[:16]
        return JSONResponse(
            {"version": version, "panes": panes, "modal": modal, "conversations": listed}
        )

    async def _click(self, request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return _refused("send a JSON object")
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        user, action_id = str(body.get("user", "")), str(body.get("action_id", ""))
        if not CHANNEL_ID.fullmatch(channel) or not USER_ID.fullmatch(user) or not action_id:
            return _refused("a click needs channel, ts, user and action_id")
        message = self.recorder.message(channel, ts)
        if message is None:
            # An ephemeral: only the person it was shown to can press its buttons.
            message = next(
                (
                    e
                    for e in self.recorder.ephemerals(user)
                    if (e["channel"], e["ts"]) == (channel, ts)
                ),
                None,
            )
            if message is None:
                return _refused(f"no message {ts} in {channel} that {user} can see")
            ephemeral = True
        else:
            ephemeral = False
        delivery = await run_in_threadpool(
            lambda: self.driver.block_action(
                action_id,
                str(body.get("value", "")),
                user_id=user,
                channel_id=channel,
                message_ts=ts,
                message=message,
                ephemeral=ephemeral,
            )
        )
        return JSONResponse({"ok": True, "status": delivery.status_code})

    async def _say(self, request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return _refused("send a JSON object")
        channel, user = str(body.get("channel", "")), str(body.get("user", ""))
        text, thread_ts = str(body.get("text", "")).strip(), body.get("thread_ts")
        person = self.recorder.user(user)
        if not CHANNEL_ID.fullmatch(channel) or person is None or not text:
            return _refused("say needs a channel, a user of the workspace and some text")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            delivery = await run_in_threadpool(
                lambda: self.driver.slash_command(
                    command, rest.strip(), user_id=user, user_name=person.name, channel_id=channel
                )
            )
        elif thread_ts and self.recorder.message(channel, str(thread_ts)) is not None:
            delivery = await run_in_threadpool(
                lambda: self.driver.message_in_thread(channel, str(thread_ts), text, user_id=user)
            )
        else:
            return _refused("type a /command, or pick a message to reply in its thread")
        return JSONResponse({"ok": True, "status": delivery.status_code})

    async def _submit(self, request: Request) -> Response:
        body = await _json(request)
        opened = self._open_modal()
        if body is None or opened is None or body.get("view_id") != opened[1]["id"]:
            return _refused("no such modal is open")
        values = body.get("values")
        if not isinstance(values, dict) or not all(
            isinstance(actions, dict) and all(isinstance(v, str) for v in actions.values())
            for actions in values.values()
        ):
            return _refused("values must be {block_id: {action_id: text}}")
        user, view = opened
        state = _view_state(view, values)
        delivery = await run_in_threadpool(
            lambda: self.driver.view_submission(view["callback_id"], state, user_id=user)
        )
        answer = delivery.answer
        if answer is not None and answer.get("response_action") == "errors":
            self._errors[view["id"]] = {str(k): str(v) for k, v in answer["errors"].items()}
            return JSONResponse(
                {"ok": True, "status": delivery.status_code, "errors": answer["errors"]}
            )
        self._dismissed.add(view["id"])
        return JSONResponse({"ok": True, "status": delivery.status_code})

    async def _close(self, request: Request) -> Response:
        body = await _json(request)
        opened = self._open_modal()
        if body is None or opened is None or body.get("view_id") != opened[1]["id"]:
            return _refused("no such modal is open")
        self._dismissed.add(opened[1]["id"])
        return JSONResponse({"ok": True})

    async def _home(self, request: Request) -> Response:
        body = await _json(request)
        user = str((body or {}).get("user", ""))
        if self.recorder.user(user) is None:
            return _refused("open the Home tab as a person of the workspace")
        delivery = await run_in_threadpool(self.driver.app_home_opened, user)
        return JSONResponse({"ok": True, "status": delivery.status_code})

    async def _home_click(self, request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return _refused("send a JSON object")
        user, action_id = str(body.get("user", "")), str(body.get("action_id", ""))
        if not self.recorder.views_published(user) or not action_id:
            return _refused(f"{user or 'nobody'} has no Home tab open; open it first")
        delivery = await run_in_threadpool(
            lambda: self.driver.home_action(action_id, str(body.get("value", "")), user_id=user)
        )
        return JSONResponse({"ok": True, "status": delivery.status_code})

    async def _text(self, request: Request) -> Response:
        body = await _json(request)
        text = str((body or {}).get("text", "")).strip()
        if self.caller_texts is None or not text:
            return _refused("type what the caller texts (STOP, START, or anything)")
        status = await run_in_threadpool(self.caller_texts, text)
        return JSONResponse({"ok": True, "status": status})


def _view_state(
    view: Mapping[str, Any], values: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, Any]]:
    """What the page's modal sent, as Slack submits it: text stays text, and a menu's value
    becomes the option picked (`selected_option`, null when none), as the bot reads it."""
    menus = {
        (str(block.get("block_id")), str(element.get("action_id"))): element
        for block in view.get("blocks") or []
        if (element := block.get("element") or {}).get("type") == "static_select"
    }
    state: dict[str, dict[str, Any]] = {}
    for block_id, actions in values.items():
        for action_id, value in actions.items():
            menu = menus.get((block_id, action_id))
            if menu is None:
                state.setdefault(block_id, {})[action_id] = value
                continue
            options = menu.get("options") or []
            picked = next((o for o in options if value and o.get("value") == value), None)
            state.setdefault(block_id, {})[action_id] = {
                "type": "static_select",
                "selected_option": picked,
            }
    return state


def _listed(message: Mapping[str, Any], *, ephemeral: bool) -> dict[str, Any]:
    return {
        "ts": message.get("ts"),
        "thread_ts": message.get("thread_ts"),
        "user": message.get("user"),
        "text": message.get("text"),
        "ephemeral": ephemeral,
    }


async def _json(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _refused(error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=400)
