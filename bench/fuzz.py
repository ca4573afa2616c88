"""Hostile input at both doors of the real bot, by the ten thousand.

    python bench/fuzz.py [--count 10000] [--seconds 900] [--concurrency 16] [--seed N]
                         [--database-url URL] [--drain-seconds 300] [--only qtvoice:17,slack:3]

Starts `python -m bot serve` (SQLite by default, `--database-url` for an empty PostgreSQL
database) against the QTvoice and Slack sandboxes over real HTTP, then sends `--count` inputs
to each of `POST /qtvoice/webhooks` and `POST /slack/events`, `--concurrency` in flight:

- random bytes, random JSON and random forms, signed and not;
- the sandbox's sample events mutated (types changed, lists for scalars, NaN / Infinity /
  1e400, lone surrogates, NUL, 200-character ids, 70-character event names, nesting up to
  20,000 deep, bodies near and over the size limits, odd Unicode), correctly signed;
- the same wrongly signed, with stale, future or unreadable (`abc`) timestamps;
- for /slack/events: Events API callbacks, `url_verification`, `payload=` interactivity forms
  (also `payload=notjson`), slash commands, and bodies over 1 MiB (some sent chunked).

It prints, per endpoint, inputs tried, 5xx answers, inputs left unanswered, answers the contract
forbids (a wrongly signed input must be a 401, an oversize one a 413, one that is both either
of them; a 2xx there is a bypass),
and then waits for the worker to drain: every webhook answered `accepted` for one of QTvoice's
twelve event types must end `done` in the inbox and, for the kinds posted by default, appear in
the Slack sandbox under its message metadata (`missed_call:<id>`, `voicemail:<key>`,
`sms:<id>`). Every finding is written whole to a JSON-lines file with the command that replays
it; the exit status is 0 when there is none, 3 when there are findings.

Why a seeded `random.Random` and our own mutators rather than hypothesis: this is a load of
ten thousand inputs per door in a few minutes, 16 in flight against a server. Hypothesis's
`given` runs examples one at a time, spends its budget on shrinking the first failure and
stops there, while we want every failure kind counted over the whole run; `.example()` is
documented as not for this. Every input here is a pure function of (seed, endpoint, index), so
`--seed S --only qtvoice:17` replays exactly that input (only timestamps are taken fresh).
Hypothesis keeps the few hundred examples of the property tests in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import json
import random
import re
import shlex
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _common import (
    NOTIFY_CHANNEL,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    BotProcess,
    SandboxErrors,
    bot_environment,
    exit_on_sigterm,
    fresh_database,
)
from sqlalchemy import bindparam, create_engine, text

from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import EVENT_TYPES, sample_event
from bot.sandbox.slack import BOT_USER_ID, SlackRecorder
from bot.store.db import sync_url

ENDPOINTS = {"qtvoice": "/qtvoice/webhooks", "slack": "/slack/events"}
WEBHOOK_LIMIT = 256 * 1024
SLACK_LIMIT = 1024 * 1024
TOLERANCE_SECONDS = 300
CALLERS = 40
#: In every body we build, so the bot's log can be searched for request bodies it wrote out.
MARKER = "fuzzmark"
#: Kinds the bot posts to NOTIFY_CHANNEL with no route set, and the metadata ref each posts.
POSTED_BY_DEFAULT = (
    "call.missed",
    "call.voicemail",
    "voicemail.new",
    "voicemail.transcribed",
    "sms.received",
    "sms.sent",
    "sms.delivered",
)
ACTION_IDS = ("call_back", "text_back", "mark_handled", "sms_reply", "pick_contact", "nope")
COMMANDS = ("/qtvoice", "/call", "/sms", "/contact", "/nope")
USERS = ("U0ALICE", "U0BOB", "U0ADMIN", "U0NOBODY", BOT_USER_ID)
CHANNELS = ("C0GENERAL", NOTIFY_CHANNEL, "C0NOWHERE", "D0DM", "G0PRIVATE")

# --- odd values ----------------------------------------------------------------------------

ODD_STRINGS = (
    "",
    " ",
    "\u0000",
    "call\u0000missed",
    "\ud800",
    "a\udfffb",
    "\ufeff",
    "\uffff",
    "\U0010ffff",
    "\u202egnp.exe",
    "👨\u200d👩\u200d👧\u200d👦" * 30,
    "Z\u0337\u0322\u034ea\u0338l\u0336g\u0335o\u0336" * 20,
    "\n" * 200,
    "\t\r\x0b\x0c\x1b[31m",
    "<!channel> <!here> <@U0ADMIN> <#C0GENERAL> <https://evil.example|click>",
    "*bold* _it_ ~strike~ `code` ```block``` > quote",
    "&amp; &lt; &gt; & < >",
    "STOP",
    "stop.",
    "Opt out",
    "START",
    "+12155551234",
    "ACMEBANK",
    "215-555-0123 x45",
    "+1 (215) 555-0123,,45#",
    "+999999999999999999999",
    "../../etc/passwd",
    "%00%ff",
    "null",
    "true",
    "{}",
    "9" * 400,
    "x" * 200,
    "é" * 129,
    "2024-13-45T25:61:61Z",
    "9999-12-31T23:59:59Z",
    "0000-00-00T00:00:00Z",
)
RAW_NUMBERS = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "123456789012345678901234567890",
    "-0",
    "1.7976931348623157e308",
    "0.1e1",
    "9223372036854775808",
)
DEEP_LEVELS = (50, 500, 900, 940, 999, 1000, 1100, 5000, 20000)


class Raw:
    """JSON text spliced in verbatim after `json.dumps` (numbers it cannot write, deep nests)."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def deep_nest(rng: random.Random) -> Raw:
    depth = rng.choice(DEEP_LEVELS)
    if rng.random() < 0.5:
        return Raw("[" * depth + "1" + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


def random_text(rng: random.Random, longest: int = 40) -> str:
    """Characters from all over Unicode, surrogates included."""
    ranges = ((0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x2FF), (0x590, 0x6FF), (0xD800, 0xDFFF))
    ranges += ((0x1F300, 0x1FAFF), (0xFFF0, 0xFFFF), (0x4E00, 0x4FFF), (0x200B, 0x206F))
    return "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(0, longest)))


def odd_string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(ODD_STRINGS)
    if roll < 0.9:
        return random_text(rng)
    return rng.choice("x\u0000é🙂<") * rng.choice((70, 129, 200, 256, 4000, 40000))


def odd_value(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, favouring the ones that broke receivers before."""
    roll = rng.random()
    if roll < 0.35:
        return odd_string(rng)
    if roll < 0.5:
        return Raw(rng.choice(RAW_NUMBERS))
    if roll < 0.6:
        return rng.choice((0, -1, 1, 2**31, 2**53 + 1, 2**63, 2**64 + 1, -(2**63) - 1))
    if roll < 0.65:
        return rng.choice((0.5, -0.0, 1e308, 1e-308, 3.14))
    if roll < 0.72:
        return rng.choice((True, False, None))
    if roll < 0.78:
        return deep_nest(rng)
    if depth > 3:
        return None
    if roll < 0.9:
        return [odd_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {odd_key(rng): odd_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def odd_key(rng: random.Random) -> str:
    return rng.choice(("id", "from", "to", "event", "data", "", "\u0000", "\ud800", "x" * 300))


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.4:
        return odd_value(rng, depth=4)
    if roll < 0.7:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return {
        rng.choice((odd_key(rng), random_text(rng, 8))): random_json(rng, depth + 1)
        for _ in range(rng.randint(0, 5))
    }


def encode(value: Any, rng: random.Random) -> bytes:
    """JSON bytes of `value`: `Raw` spliced in, sometimes unescaped (lone surrogates raw)."""
    raws: dict[str, str] = {}

    def placeholder(item: Any) -> Any:
        if isinstance(item, Raw):
            token = f"@@raw{len(raws)}@@"
            raws[token] = item.literal
            return token
        if isinstance(item, dict):
            return {key: placeholder(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [placeholder(inner) for inner in item]
        return item

    ascii_only = rng.random() < 0.7
    textual = json.dumps(placeholder(value), ensure_ascii=ascii_only, allow_nan=True)
    for token, literal in raws.items():
        textual = textual.replace(f'"{token}"', literal)
    body = textual.encode("utf-8", "surrogatepass")
    roll = rng.random()
    if roll < 0.03:
        body = b"\xef\xbb\xbf" + body
    elif roll < 0.06:
        body = b" \n\t" + body + b"\n"
    elif roll < 0.08:
        body = body + b"garbage"
    elif roll < 0.10:
        body = body[: rng.randint(0, max(len(body) - 1, 0))]
    elif roll < 0.12 and body.startswith(b"{"):
        body = b'{"event":"sms.received",' + body[1:]  # a duplicate key, last one wins
    return body


# --- mutating one JSON document ---------------------------------------------------------------


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside dicts and lists, parents first."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from paths(value, (*prefix, index))


def get_at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


def set_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    get_at(document, path[:-1])[path[-1]] = value
    return document


def other_type(value: Any, rng: random.Random) -> Any:
    candidates: list[Any] = [
        "1",
        1,
        1.5,
        True,
        None,
        [],
        {},
        [value],
        {"value": value},
        str(value)[:50],
    ]
    return rng.choice([c for c in candidates if type(c) is not type(value)] or candidates)


def mutate(document: Any, rng: random.Random) -> tuple[Any, list[str]]:
    """The document with one to three random changes, and what each was."""
    document = copy.deepcopy(document)
    done = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        targets = list(paths(document))
        path = rng.choice(targets[1:] if len(targets) > 1 else targets)
        name = rng.choice(
            ("odd", "type", "list", "drop", "number", "deep", "unicode", "add", "big")
        )
        value = get_at(document, path) if path else document
        if name == "odd":
            new = odd_value(rng)
        elif name == "type":
            new = other_type(value, rng)
        elif name == "list":
            new = [value] if rng.random() < 0.7 else [value, value]
        elif name == "number":
            new = Raw(rng.choice(RAW_NUMBERS))
        elif name == "deep":
            new = deep_nest(rng)
        elif name == "unicode":
            new = odd_string(rng)
        elif name == "big":
            new = "x" * rng.choice((10_000, 100_000, 200_000))
        elif name == "drop" and path:
            parent = get_at(document, path[:-1])
            del parent[path[-1]]
            done.append(f"drop {describe_path(path)}")
            continue
        else:  # add a key next to the value
            parent = get_at(document, path[:-1]) if path else document
            if isinstance(parent, dict):
                parent[odd_key(rng)] = odd_value(rng)
                done.append(f"add key at {describe_path(path[:-1])}")
            continue
        document = set_at(document, path, new)
        done.append(f"{name} {describe_path(path)}")
    return document, done


def describe_path(path: tuple[Any, ...]) -> str:
    return "/".join(str(step)[:20] for step in path) or "<root>"


# --- QTvoice webhooks -----------------------------------------------------------------------


@dataclass
class Case:
    """One input: what is sent, what the contract demands of the answer, and how it was made."""

    endpoint: str
    index: int
    kind: str
    how: list[str]
    body: bytes
    headers: dict[str, str]
    #: Statuses the contract allows; None: anything but a 5xx.
    expect: frozenset[int] | None = None
    chunked: bool = False


def seeded_sample(rng: random.Random, event: str) -> dict[str, Any]:
    """A sample event whose ids come from `rng`, so a seed reproduces it."""
    envelope = sample_event(event)
    # Callers from a pool, so texts fall into many conversations (each delivered in order).
    party = "to" if envelope["data"].get("direction") == "outbound" else "from"
    if party in envelope["data"]:
        envelope["data"][party] = f"+1267555{rng.randrange(CALLERS):04d}"
    for key in ("id", "callId", "voicemailId"):
        if key in envelope["data"]:
            prefix = str(envelope["data"][key]).split("_")[0]
            envelope["data"][key] = f"{prefix}_{rng.getrandbits(48):012x}"
    return envelope


def webhook_signature(body: bytes, rng: random.Random) -> str:
    """A correct signature, written in one of the ways the contract accepts."""
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return rng.choice((digest, digest, f"sha256={digest}", digest.upper()))


def refused(expect: frozenset[int] | None) -> frozenset[int]:
    """A wrongly signed input is a 401; if it is also oversize, a 413 refuses it as early."""
    return frozenset({401}) | (expect or frozenset())


def wrong_webhook_signature(body: bytes, rng: random.Random) -> tuple[str | None, str]:
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    choices: list[tuple[str | None, str]] = [
        (None, "no signature"),
        ("", "empty signature"),
        (f"{rng.getrandbits(256):064x}", "random signature"),
        (hmac.new(b"wrong", body, hashlib.sha256).hexdigest(), "another secret"),
        (hmac.new(WEBHOOK_SECRET.encode(), body + b" ", hashlib.sha256).hexdigest(), "other body"),
        (digest[:-1], "truncated signature"),
        (f"sha1={digest}", "sha1= prefix"),
        (digest + "00", "padded signature"),
    ]
    return rng.choice(choices)


def stale_timestamp(rng: random.Random, now: int) -> str:
    return rng.choice(
        (
            str(now - TOLERANCE_SECONDS - rng.randint(2, 10**6)),
            str(now + TOLERANCE_SECONDS + rng.randint(2, 10**6)),
            "abc",
            "",
            "NaN",
            "inf",
            "-inf",
            "1e400",
            "9" * 40,
            "0",
            "-1",
            "0x10",
        )
    )


def webhook_envelope(rng: random.Random) -> tuple[Any, list[str]]:
    event = rng.choice(EVENT_TYPES)
    envelope: Any = seeded_sample(rng, event)
    envelope["_fuzz"] = MARKER
    how = [event]
    if rng.random() < 0.25:
        # The door's own hard cases, each picked on purpose.
        special = rng.choice(
            (
                ("id", "x" * 200),
                ("id", "call\u0000x"),
                ("id", "\ud800"),
                ("id", Raw("NaN")),
                ("id", Raw("1e400")),
                ("id", [envelope["data"].get("id")]),
                ("id", ""),
                ("id", None),
                ("id", True),
                ("id", 12345),
                ("event", "call.missed" + "x" * 59),
                ("event", " " + event + " "),
                ("event", event.upper()),
                ("event", "\u0000"),
                ("from", Raw("Infinity")),
                ("from", ["+12155551234"]),
                ("duration", [42]),
                ("createdAt", 1700000000),
                ("message", "\u0000STOP"),
                ("data", []),
                ("data", None),
                ("nest", deep_nest(rng)),
            )
        )
        key, value = special
        if key == "event":
            envelope["event"] = value
        elif key == "data":
            envelope["data"] = value
        else:
            envelope["data"][key] = value
        how.append(f"{key}={describe_value(value)}")
    if rng.random() < 0.8:
        envelope, changes = mutate(envelope, rng)
        how += changes
    return envelope, how


def describe_value(value: Any) -> str:
    if isinstance(value, Raw):
        return value.literal[:20] + ("…" if len(value.literal) > 20 else "")
    shown = repr(value)
    return shown[:40] + ("…" if len(shown) > 40 else "")


def webhook_case(index: int, seed: int) -> Case:
    rng = random.Random(f"{seed}/qtvoice/{index}")
    now = int(time.time())
    roll = rng.random()
    headers = {"Content-Type": "application/json", "User-Agent": "QTvoice-Webhooks/1.0"}
    if rng.random() < 0.9:
        headers["X-QTvoice-Delivery-ID"] = rng.choice(
            (
                f"dlv_{rng.getrandbits(48):012x}",
                f"dlv_{rng.getrandbits(48):012x}",
                "d" * 200,
                "",
                "dlv_fuzz_fixed",
            )
        )
    if roll < 0.1:
        kind, how = "random", ["random"]
        body = (
            rng.randbytes(rng.randint(0, 3000))
            if rng.random() < 0.4
            else encode(random_json(rng), rng)
        )
        signed = rng.random() < 0.5
    elif roll < 0.15:
        kind, how = "pristine", []
        event = rng.choice(EVENT_TYPES)
        how.append(event)
        body = json.dumps(seeded_sample(rng, event)).encode()
        signed = True
    else:
        kind = "mutated"
        envelope, how = webhook_envelope(rng)
        body = encode(envelope, rng)
        signed = True
    expect: frozenset[int] | None = None
    if rng.random() < 0.03:
        body = body + b" " * (WEBHOOK_LIMIT + rng.randint(1, 3 * WEBHOOK_LIMIT))
    if len(body) > WEBHOOK_LIMIT:  # mutations can get there too; the size is checked first
        kind, expect = "oversize", frozenset({413})
    timestamp = str(now) if rng.random() < 0.9 else f"{now + rng.uniform(-5, 5):.3f}"
    side = rng.random()
    if not signed or side < 0.12:
        signature, why = wrong_webhook_signature(body, rng)
        kind = kind if kind == "oversize" else "wrong-signature"
        how.append(why)
        expect = refused(expect)
    elif side < 0.2:
        signature = webhook_signature(body, rng)
        timestamp = stale_timestamp(rng, now)
        kind = kind if kind == "oversize" else "stale-timestamp"
        how.append(f"timestamp {timestamp!r}")
        expect = refused(expect)
    else:
        signature = webhook_signature(body, rng)
        kind = kind if kind == "oversize" else f"signed-{kind}"
    if signature is not None:
        headers["X-QTvoice-Signature"] = signature
    if rng.random() > 0.02:
        headers["X-QTvoice-Timestamp"] = timestamp
    else:
        expect = refused(expect)
        how.append("no timestamp")
    if rng.random() < 0.05:
        headers["Content-Type"] = rng.choice(
            ("text/plain", "application/x-www-form-urlencoded", "")
        )
    chunked = kind == "oversize" and rng.random() < 0.5
    return Case("qtvoice", index, kind, how, body, headers, expect, chunked)


# --- Slack ----------------------------------------------------------------------------------


def slack_signature(timestamp: str, body: bytes, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_ts(rng: random.Random) -> str:
    return f"{1_700_000_000 + rng.randint(0, 10**8)}.{rng.randint(0, 999_999):06d}"


def event_callback(rng: random.Random) -> tuple[dict[str, Any], str]:
    kind = rng.choice(
        ("message", "message", "message", "app_home_opened", "app_mention", "reaction_added", "x")
    )
    ts = slack_ts(rng)
    event: dict[str, Any] = {
        "type": kind,
        "user": rng.choice(USERS),
        "channel": rng.choice(CHANNELS),
        "ts": ts,
        "event_ts": ts,
        "text": rng.choice(("hello", "note: internal", "STOP", odd_string(rng))),
    }
    if kind == "message":
        if rng.random() < 0.7:
            event["thread_ts"] = slack_ts(rng)
        subtype = rng.choice((None, None, "file_share", "bot_message", "message_changed", "x"))
        if subtype:
            event["subtype"] = subtype
        if subtype == "file_share" or rng.random() < 0.1:
            event["files"] = [{"id": "F0FUZZ", "name": "a.pdf", "mimetype": "application/pdf"}]
        if rng.random() < 0.1:
            event["bot_id"] = "B0FUZZ"
    if kind == "app_home_opened":
        event["tab"] = rng.choice(("home", "messages", ""))
    envelope = {
        "token": "sandbox-verification-token",
        "team_id": "T0FUZZ",
        "api_app_id": "A0FUZZ",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{rng.getrandbits(40):010X}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0FUZZ", "user_id": BOT_USER_ID, "is_bot": True}],
        "fuzz": MARKER,
    }
    return envelope, f"event_callback {kind}"


def interaction(rng: random.Random, response_url: str) -> tuple[dict[str, Any], str]:
    kind = rng.choice(
        ("block_actions", "block_actions", "view_submission", "shortcut", "view_closed", "x")
    )
    user = rng.choice(USERS)
    payload: dict[str, Any] = {
        "type": kind,
        "user": {"id": user, "username": user.lower(), "team_id": "T0FUZZ"},
        "team": {"id": "T0FUZZ", "domain": "fuzz"},
        "api_app_id": "A0FUZZ",
        "token": "sandbox-verification-token",
        "trigger_id": f"{rng.getrandbits(40)}.fuzz",
        "fuzz": MARKER,
    }
    if kind == "block_actions":
        channel, ts = rng.choice(CHANNELS), slack_ts(rng)
        payload |= {
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "channel": {"id": channel, "name": "general"},
            "message": {"type": "message", "ts": ts, "text": "hi", "blocks": []},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": rng.choice(ACTION_IDS),
                    "block_id": "b",
                    "value": rng.choice(("+12155551234", "call_x", odd_string(rng))),
                    "type": "button",
                    "action_ts": slack_ts(rng),
                }
            ],
        }
    elif kind == "view_submission":
        payload["view"] = {
            "id": "V0FUZZ",
            "type": "modal",
            "callback_id": rng.choice(("sms_send", "nope")),
            "private_metadata": rng.choice(('{"to":"+12155551234"}', "notjson", odd_string(rng))),
            "state": {
                "values": {
                    "sms_message": {"message": {"type": "plain_text_input", "value": "hi"}},
                }
            },
        }
    elif kind == "shortcut":
        payload["callback_id"] = "nope"
    return payload, f"payload {kind}"


def slash_command(rng: random.Random, response_url: str) -> dict[str, str]:
    text = rng.choice(
        (
            "",
            "help",
            "status",
            "link 101",
            "unlink",
            "route +12155550100 C0GENERAL",
            "deliveries",
            "+12155551234 hello",
            "215-555-0123 x45",
            "John",
            odd_string(rng),
        )
    )
    return {
        "token": "sandbox-verification-token",
        "team_id": "T0FUZZ",
        "channel_id": rng.choice(CHANNELS),
        "user_id": rng.choice(USERS),
        "user_name": "fuzz",
        "command": rng.choice(COMMANDS),
        "text": text,
        "api_app_id": "A0FUZZ",
        "response_url": response_url,
        "trigger_id": f"{rng.getrandbits(40)}.fuzz",
        "fuzz": MARKER,
    }


def raw_bytes(value: str) -> bytes:
    """UTF-8 of `value`, its escaped undecodable bytes restored and lone surrogates kept."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def form_bytes(fields: list[tuple[str, str]], rng: random.Random) -> bytes:
    body = urlencode([(raw_bytes(key), raw_bytes(value)) for key, value in fields]).encode()
    if rng.random() < 0.05:
        body += b"&%ff%fe=%80"
    return body


def slack_body(rng: random.Random, response_url: str) -> tuple[bytes, str, list[str]]:
    """(body, content type, how) of a well-formed-looking or odd Slack request."""
    roll = rng.random()
    if roll < 0.35:
        envelope, how = event_callback(rng)
        if rng.random() < 0.6:
            envelope, changes = mutate(envelope, rng)
            return encode(envelope, rng), "application/json", [how, *changes]
        return json.dumps(envelope).encode(), "application/json", [how]
    if roll < 0.42:
        challenge: Any = rng.choice((f"c{rng.getrandbits(64):x}", odd_string(rng), Raw("NaN"), 5))
        envelope = {"token": "t", "challenge": challenge, "type": "url_verification"}
        return encode(envelope, rng), "application/json", ["url_verification"]
    if roll < 0.72:
        payload, how = interaction(rng, response_url)
        changes: list[str] = []
        if rng.random() < 0.6:
            payload, changes = mutate(payload, rng)
        variant = rng.random()
        if variant < 0.1:
            fields, changes = [("payload", "notjson")], ["payload=notjson"]
        elif variant < 0.15:
            fields, changes = [("payload", "[1,2]")], ["payload=[1,2]"]
        elif variant < 0.2:
            fields, changes = [("nopayload", "x")], ["no payload field"]
        elif variant < 0.25:
            fields = [
                ("payload", "{}"),
                ("payload", encode(payload, rng).decode("utf-8", "replace")),
            ]
            changes = ["payload twice"]
        else:
            fields = [("payload", encode(payload, rng).decode("utf-8", "surrogateescape"))]
        return form_bytes(fields, rng), "application/x-www-form-urlencoded", [how, *changes]
    if roll < 0.85:
        form = slash_command(rng, response_url)
        how = [f"command {form['command']} {form['text'][:30]!r}"]
        if rng.random() < 0.4:
            key = rng.choice(list(form))
            form[key] = odd_string(rng)
            how.append(f"odd {key}")
        return form_bytes(list(form.items()), rng), "application/x-www-form-urlencoded", how
    content_type = rng.choice(
        ("application/json", "application/x-www-form-urlencoded", "text/plain", "")
    )
    if rng.random() < 0.4:
        return rng.randbytes(rng.randint(0, 3000)), content_type, ["random bytes"]
    return encode(random_json(rng), rng), content_type, ["random json"]


def slack_case(index: int, seed: int, recorder: SlackRecorder | None) -> Case:
    rng = random.Random(f"{seed}/slack/{index}")
    now = int(time.time())
    key = f"fuzz{seed}x{index}"
    if recorder is not None and rng.random() < 0.8:
        response_url = recorder.response_url(key, channel="C0GENERAL", user_id="U0ALICE")
    else:
        response_url = rng.choice(("notaurl", "http://127.0.0.1:9/nothing-listens", ""))
    body, content_type, how = slack_body(rng, response_url)
    headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0"}
    if not content_type:
        del headers["Content-Type"]
    expect: frozenset[int] | None = None
    kind = "signed"
    if rng.random() < 0.02:
        body = body + b" " * (SLACK_LIMIT + rng.randint(1, 3 * SLACK_LIMIT))
    if len(body) > SLACK_LIMIT:
        kind, expect = "oversize", frozenset({413})
    timestamp = str(now)
    signature: str | None = slack_signature(timestamp, body)
    side = rng.random()
    if side < 0.15:
        kind = kind if kind == "oversize" else "wrong-signature"
        signature, why = rng.choice(
            (
                (None, "no signature"),
                ("", "empty signature"),
                (f"v0={rng.getrandbits(256):064x}", "random signature"),
                (slack_signature(timestamp, body, "wrong-secret"), "another secret"),
                (slack_signature(str(now - 1), body), "signed for another timestamp"),
                ("v1=" + slack_signature(timestamp, body)[3:], "v1= prefix"),
                (slack_signature(timestamp, body)[:-2], "truncated signature"),
            )
        )
        how.append(why)
        expect = refused(expect)
    elif side < 0.27:
        kind = kind if kind == "oversize" else "bad-timestamp"
        timestamp = stale_timestamp(rng, now)
        # Signed over that timestamp with the right secret: only the timestamp is wrong.
        signature = slack_signature(timestamp, body) if rng.random() < 0.8 else signature
        how.append(f"timestamp {timestamp!r}")
        expect = refused(expect)
    if rng.random() < 0.1:
        headers["X-Slack-Retry-Num"] = rng.choice(("1", "2", "abc"))
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    if rng.random() > 0.02:
        headers["X-Slack-Request-Timestamp"] = timestamp
    else:
        expect = refused(expect)
        how.append("no timestamp header")
    chunked = kind == "oversize" and rng.random() < 0.5
    return Case("slack", index, kind, how, body, headers, expect, chunked)


# --- sending --------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    status: int | None
    answer: str
    seconds: float


@dataclass
class Tally:
    tried: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int | None]] = field(default_factory=Counter)
    server_errors: list[Outcome] = field(default_factory=list)
    unanswered: list[Outcome] = field(default_factory=list)
    breaches: list[Outcome] = field(default_factory=list)
    #: (row id, event, data, outcome) of every webhook answered `accepted` for a known event.
    accepted: list[tuple[int, str, dict[str, Any], Outcome]] = field(default_factory=list)


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def send(client: httpx.AsyncClient, base_url: str, case: Case) -> Outcome:
    url = base_url + ENDPOINTS[case.endpoint]
    headers = {name: value.encode("latin-1", "replace") for name, value in case.headers.items()}
    content: bytes | AsyncIterator[bytes] = chunks(case.body) if case.chunked else case.body
    started = time.perf_counter()
    try:
        response = await client.post(url, content=content, headers=headers)
    except httpx.TransportError as error:
        # A kept-alive connection the server closed as we reused it is the client's race,
        # not an answer: try once more on a connection of its own before counting it.
        first = f"{type(error).__name__}: {error}"
        try:
            async with httpx.AsyncClient(timeout=client.timeout) as fresh:
                content = chunks(case.body) if case.chunked else case.body
                response = await fresh.post(url, content=content, headers=headers)
        except httpx.HTTPError as again:
            answer = f"{first}; again: {type(again).__name__}: {again}"
            return Outcome(case, None, answer, time.perf_counter() - started)
        case.how.append(f"answered on a second try after {first}")
    return Outcome(case, response.status_code, response.text[:500], time.perf_counter() - started)


def judge(outcome: Outcome, tally: Tally) -> None:
    case = outcome.case
    tally.tried[case.endpoint] += 1
    tally.by_kind[(case.endpoint, case.kind)] += 1
    tally.statuses[(case.endpoint, outcome.status)] += 1
    if outcome.status is None:
        tally.unanswered.append(outcome)
        return
    if outcome.status >= 500:
        tally.server_errors.append(outcome)
        return
    if case.expect is not None and outcome.status not in case.expect:
        tally.breaches.append(outcome)
        return
    if case.endpoint == "qtvoice" and 200 <= outcome.status < 300:
        with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
            answer = json.loads(outcome.answer)
            if answer.get("status") != "accepted":
                return
            envelope = json.loads(case.body)
            event = envelope["event"].strip()
            if event in EVENT_TYPES:
                tally.accepted.append((int(answer["id"]), event, envelope["data"], outcome))


async def fire(
    base_url: str,
    cases: Iterator[Case],
    concurrency: int,
    seconds: float,
    tally: Tally,
    alive: Callable[[], bool],
) -> bool:
    """Send every case until the time budget runs out; False when it ran out first."""
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    exhausted = True
    progress_at = time.monotonic() + 15
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal exhausted, progress_at
            for case in cases:
                if time.monotonic() > deadline or not alive():
                    exhausted = False
                    return
                judge(await send(client, base_url, case), tally)
                if time.monotonic() > progress_at:
                    progress_at = time.monotonic() + 15
                    done = ", ".join(f"{name} {count}" for name, count in tally.tried.items())
                    print(f"  … {done}", file=sys.stderr, flush=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return exhausted


def interleaved(
    count: int, seed: int, recorder: SlackRecorder, only: list[tuple[str, int]] | None
) -> Iterator[Case]:
    if only is not None:
        for endpoint, index in only:
            yield (
                webhook_case(index, seed)
                if endpoint == "qtvoice"
                else slack_case(index, seed, recorder)
            )
        return
    for index in range(count):
        yield webhook_case(index, seed)
        yield slack_case(index, seed, recorder)


# --- delivery -------------------------------------------------------------------------------


def expected_ref(event: str, data: dict[str, Any], ordering_key: str | None) -> str | None:
    """The metadata ref the bot's post for this event carries; None when not predictable.

    Ids are read as the contract stores them (text or a whole number, trimmed). A voicemail's
    message is keyed by whichever of its ids arrived first (`voicemail.transcribed` may name
    only the voicemail), which the door records as the event's ordering key: that is its ref.
    """

    def part(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        return str(value).strip() or None

    identity = part(data.get("id"))
    if event in ("call.voicemail", "voicemail.new", "voicemail.transcribed"):
        return ordering_key if ordering_key and ordering_key.startswith("voicemail:") else None
    if identity is None:
        return None
    if event == "call.missed":
        return f"missed_call:{identity}"
    if event in ("sms.received", "sms.sent", "sms.delivered"):
        return f"sms:{identity}"
    return None


def reason_key(error: str) -> str:
    """A failure reason without the parts that differ per event, to count alike ones together."""
    invalid = re.match(r"ValidationError: \d+ validation errors? for (\w+)", error)
    if invalid:
        return f"ValidationError reading a {invalid.group(1)}"
    refused = re.search(r"/api/([\w.]+).*'error': '(\w+)'", error)
    if refused:
        return f"Slack {refused.group(1)}: {refused.group(2)}"
    return error[:70] or "(never tried)"


def slack_refs(recorder: SlackRecorder) -> set[str]:
    refs = set()
    for method in ("chat.postMessage", "chat.update"):
        for call in recorder.calls(method, ok=True):
            metadata = call.args.get("metadata")
            if isinstance(metadata, dict):
                payload = metadata.get("event_payload") or {}
                if isinstance(payload, dict) and isinstance(payload.get("ref"), str):
                    refs.add(payload["ref"])
    return refs


def inbox_states(
    database_url: str, ids: list[int]
) -> dict[int, tuple[str, str | None, str | None]]:
    engine = create_engine(sync_url(database_url))
    states: dict[int, tuple[str, str | None, str | None]] = {}
    try:
        with engine.connect() as connection:
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                rows = connection.execute(
                    text(
                        "SELECT id, state, last_error, ordering_key FROM inbox WHERE id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"ids": batch},
                )
                for row_id, state, error, order in rows:
                    states[int(row_id)] = (str(state), error, order)
    finally:
        engine.dispose()
    return states


def drain(
    database_url: str, accepted: list[int], seconds: float, alive: Callable[[], bool]
) -> tuple[dict[int, tuple[str, str | None, str | None]], float]:
    """Wait until no accepted event is pending (or `seconds` pass); final states, time waited."""
    started = time.monotonic()
    while True:
        states = inbox_states(database_url, accepted)
        pending = sum(1 for state, *_ in states.values() if state == "pending")
        if not pending or time.monotonic() - started > seconds or not alive():
            return states, time.monotonic() - started
        time.sleep(1)


# --- reporting ------------------------------------------------------------------------------


def finding(outcome: Outcome, what: str, seed: int, base_command: list[str]) -> dict[str, Any]:
    case = outcome.case
    body = case.body
    return {
        "finding": what,
        "endpoint": ENDPOINTS[case.endpoint],
        "input": f"{case.endpoint}:{case.index}",
        "kind": case.kind,
        "how": case.how,
        "status": outcome.status,
        "answer": outcome.answer,
        "headers": case.headers,
        "chunked": case.chunked,
        "body_bytes": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_preview": body[:600].decode("utf-8", "backslashreplace"),
        "body_base64": base64.b64encode(body).decode() if len(body) <= 64 * 1024 else None,
        "replay": shlex.join([*base_command, "--only", f"{case.endpoint}:{case.index}"]),
    }


def short(outcome: Outcome) -> str:
    case = outcome.case
    how = "; ".join(case.how)[:110]
    status = outcome.status if outcome.status is not None else "no answer"
    return (
        f"    {case.endpoint}:{case.index} [{case.kind}] {how} -> {status} {outcome.answer[:80]!r}"
    )


def parse_only(value: str) -> list[tuple[str, int]]:
    picked = []
    for item in value.split(","):
        endpoint, _, index = item.strip().partition(":")
        if endpoint not in ENDPOINTS or not index.isdigit():
            raise argparse.ArgumentTypeError(f"{item!r} is not qtvoice:N or slack:N")
        picked.append((endpoint, int(index)))
    return picked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="inputs per endpoint")
    parser.add_argument("--seconds", type=float, default=900, help="budget for sending")
    parser.add_argument("--drain-seconds", type=float, default=300, help="budget for delivery")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=None, help="default: a new one, printed")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--only", type=parse_only, help="replay inputs: qtvoice:17,slack:3")
    parser.add_argument("--findings", type=Path, help="JSON-lines file for what was found")
    parser.add_argument("--keep", type=Path, help="keep the bot's log (and SQLite file) here")
    args = parser.parse_args()
    exit_on_sigterm()
    seed = args.seed if args.seed is not None else random.randrange(1, 10**6)
    command = ["python", "bench/fuzz.py", "--seed", str(seed), "--count", str(args.count)]
    if args.database_url:
        command += ["--database-url", args.database_url]
    findings_path = args.findings or Path(tempfile.gettempdir()) / f"qtslack-fuzz-{seed}.jsonl"

    with (
        tempfile.TemporaryDirectory() as temporary,
        QTvoiceSandbox() as qtvoice,
        SlackRecorder(bot_token="xoxb-bench-token") as slack,
    ):
        sandbox_errors = SandboxErrors().install()
        # The fuzz is about the doors, not the hourly budget (bench/budget.py measures that).
        qtvoice.state.set_rate_limit(limit=10_000_000)
        workdir = args.keep or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        database_url = fresh_database(args.database_url, workdir)
        environment = bot_environment(
            database_url,
            qtvoice.url,
            qtvoice.api_key,
            slack.api_url,
            reconcile_interval_seconds="0",
            delivery_retry_seconds="0.1",
            webhook_tolerance_seconds=str(TOLERANCE_SECONDS),
        )
        with BotProcess(environment, workdir) as bot:
            engine = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
            print(
                f"fuzzing {bot.url} (`python -m bot serve`, pid {bot.pid}, {engine}), seed {seed},"
                f" {args.count if args.only is None else len(args.only)} inputs per endpoint,"
                f" {args.concurrency} in flight"
            )
            tally = Tally()
            started = time.monotonic()
            finished = asyncio.run(
                fire(
                    bot.url,
                    interleaved(args.count, seed, slack, args.only),
                    args.concurrency,
                    args.seconds,
                    tally,
                    lambda: bot.alive,
                )
            )
            sending = time.monotonic() - started
            ids = [row_id for row_id, *_ in tally.accepted]
            states, waited = drain(database_url, ids, args.drain_seconds, lambda: bot.alive)
            # The last posts of a drained inbox are in the recorder before the rows are done.
            refs = slack_refs(slack)
            alive = bot.alive
            exit_code = bot.stop()
            log = bot.log_path.read_text(errors="replace")

    undelivered: list[tuple[Outcome, str, str]] = []
    for row_id, event, data, outcome in tally.accepted:
        state, error, order = states.get(row_id, ("missing", None, None))
        if state != "done":
            reason = " ".join((error or "").split())
            why = f"inbox row {row_id} is {state}: {reason[:200]}"
            undelivered.append((outcome, why, f"{state}: {reason_key(reason)}"))
            continue
        ref = expected_ref(event, data, order)
        if event in POSTED_BY_DEFAULT and ref is not None and ref not in refs:
            why = f"inbox row {row_id} is done but no post carries {ref}"
            undelivered.append((outcome, why, "done, not in Slack"))

    print(f"sent in {sending:.0f} s; inbox drained in {waited:.0f} s")
    if not finished:
        print(f"STOPPED EARLY: --seconds {args.seconds:.0f} ran out (or the bot died)")
    if not alive:
        print(f"THE BOT DIED (exit {exit_code}); its last lines:\n{log[-2000:]}")
    print(f"{'':<22}{'tried':>8}{'5xx':>8}{'no answer':>11}{'contract':>10}")
    for endpoint, path in ENDPOINTS.items():
        print(
            f"{path:<22}{tally.tried[endpoint]:>8}"
            f"{sum(o.case.endpoint == endpoint for o in tally.server_errors):>8}"
            f"{sum(o.case.endpoint == endpoint for o in tally.unanswered):>11}"
            f"{sum(o.case.endpoint == endpoint for o in tally.breaches):>10}"
        )
    for endpoint in ENDPOINTS:
        kinds = sorted((kind, n) for (name, kind), n in tally.by_kind.items() if name == endpoint)
        statuses = sorted(
            ((status or 0), n) for (name, status), n in tally.statuses.items() if name == endpoint
        )
        print(f"  {endpoint} inputs by kind: " + ", ".join(f"{k} {n}" for k, n in kinds))
        print(f"  {endpoint} answers: " + ", ".join(f"{s or 'none'}: {n}" for s, n in statuses))
    delivered_posts = sum(1 for _, event, data, _ in tally.accepted if event in POSTED_BY_DEFAULT)
    print(
        f"accepted known webhooks: {len(tally.accepted)} ({delivered_posts} of kinds posted by "
        f"default); accepted-but-undelivered: {len(undelivered)}"
    )
    if undelivered:
        for key, count in Counter(key for *_, key in undelivered).most_common(6):
            print(f"  undelivered {count:>5}  {key}")
    echoed = sum(1 for line in log.splitlines() if MARKER in line)
    print(
        f"bot log: {len(log.encode()) // 1024} KiB, {log.count('Traceback')} tracebacks, "
        f"{echoed} lines echoing a request body"
    )

    records = [finding(o, "5xx", seed, command) for o in tally.server_errors]
    records += [finding(o, "no answer", seed, command) for o in tally.unanswered]
    records += [
        finding(o, f"expected {sorted(o.case.expect or ())}", seed, command) for o in tally.breaches
    ]
    records += [finding(o, f"undelivered: {why}", seed, command) for o, why, _ in undelivered]
    for title, outcomes in (
        ("5xx", tally.server_errors),
        ("no answer", tally.unanswered),
        ("answers the contract forbids", tally.breaches),
        ("accepted but undelivered", [o for o, *_ in undelivered]),
    ):
        if outcomes:
            print(f"first {title}:")
            for outcome in outcomes[:5]:
                print(short(outcome))
    for outcome, why, _ in undelivered[:5]:
        print(f"    {outcome.case.endpoint}:{outcome.case.index}: {why}")
    if records:
        with findings_path.open("w") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=True) + "\n")
        print(f"{len(records)} findings written to {findings_path}")
    print(sandbox_errors.summary())
    print(f"reproduce: {shlex.join(command)}")
    clean = finished and alive and not records
    return 0 if clean else 3


if __name__ == "__main__":
    sys.exit(main())
