"""The Slack app manifest: exactly the commands and events the Bolt app listens for.

What the app registers is read from the real Bolt app's listeners (each primary matcher
closes over the command or event type it was registered for), and proven by posting each
manifest entry to the running bot: Bolt answers 404 to a request no listener takes.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from slack_bolt.async_app import AsyncApp

from bot.config import Settings
from bot.delivery import inbox
from bot.runtime import Runtime
from bot.slack.app import create_bolt_app
from bot.slack.manifest import SOCKET_MODE_SETUP, build_manifest
from tests.conftest import NOTIFY_CHANNEL, RunningBot

BASE_URL = "https://qtslack.example.com"
EVENTS_URL = f"{BASE_URL}/slack/events"
#: Slack's published manifest schema, vendored (see tests/fixtures/README.md).
SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "slack-manifest.schema.json"
#: The message event types Slack's manifest names for each kind of conversation.
MESSAGE_EVENT_TYPES = ("message.channels", "message.groups", "message.im", "message.mpim")


@pytest.fixture
def manifest() -> dict[str, Any]:
    return build_manifest(BASE_URL)


@pytest.fixture
def bolt_app(settings: Settings) -> Iterator[AsyncApp]:
    runtime = Runtime.create(settings)
    yield create_bolt_app(
        runtime, functools.partial(inbox.store_own, runtime.sessions, source="slack")
    )
    asyncio.run(runtime.close())


def closure_values(function: Callable[..., Any]) -> dict[str, Any]:
    """Every variable `function` closes over, and those of the functions it closes over."""
    found: dict[str, Any] = {}
    for name, value in inspect.getclosurevars(function).nonlocals.items():
        found[name] = value
        if inspect.isfunction(value):
            found.update(closure_values(value))
    return found


def registered(app: AsyncApp) -> tuple[set[str], set[str]]:
    """(slash commands, event types) the app's listeners were registered for.

    Bolt builds each listener's first matcher from `app.command(name)` or
    `app.event(type)`; the name is in that matcher function's closure.
    """
    commands: set[str] = set()
    events: set[str] = set()
    for listener in app._async_listeners:
        captured = closure_values(listener.matchers[0].func)
        if "command" in captured:
            commands.add(str(captured["command"]))
        elif "event_type" in captured:
            events.add(str(captured["event_type"]))
        elif isinstance(captured.get("constraints"), dict) and "type" in captured["constraints"]:
            events.add(str(captured["constraints"]["type"]))
    return commands, events


def manifest_commands(manifest: dict[str, Any]) -> set[str]:
    return {entry["command"] for entry in manifest["features"]["slash_commands"]}


def manifest_events(manifest: dict[str, Any]) -> list[str]:
    return manifest["settings"]["event_subscriptions"]["bot_events"]


def as_bolt_event_type(manifest_event: str) -> str:
    """Slack subscribes to `message.channels`; the event that arrives is `message`."""
    return "message" if manifest_event in MESSAGE_EVENT_TYPES else manifest_event


def test_manifest_commands_are_exactly_the_registered_ones(
    manifest: dict[str, Any], bolt_app: AsyncApp
) -> None:
    commands, _ = registered(bolt_app)
    assert commands
    assert manifest_commands(manifest) == commands


def test_manifest_events_are_exactly_the_registered_ones(
    manifest: dict[str, Any], bolt_app: AsyncApp
) -> None:
    _, events = registered(bolt_app)
    assert events
    assert {as_bolt_event_type(event) for event in manifest_events(manifest)} == events


def test_message_events_cover_public_and_private_channels(manifest: dict[str, Any]) -> None:
    message_events = {e for e in manifest_events(manifest) if e.startswith("message.")}
    assert message_events == {"message.channels", "message.groups"}


def test_every_manifest_command_is_handled(bot: RunningBot, manifest: dict[str, Any]) -> None:
    for command in manifest_commands(manifest):
        assert bot.slack.slash_command(command, "help").status_code == 200, command


def test_a_command_missing_from_the_manifest_is_not_handled(bot: RunningBot) -> None:
    assert bot.slack.slash_command("/dance", "help").status_code == 404


def test_every_manifest_event_is_handled(bot: RunningBot, manifest: dict[str, Any]) -> None:
    channels = {"message.channels": NOTIFY_CHANNEL, "message.groups": "G0PRIVATE"}
    for event in manifest_events(manifest):
        if event == "app_home_opened":
            delivery = bot.slack.app_home_opened("U0ALICE")
        else:
            channel = channels[event]
            message = {"type": "message", "channel": channel, "user": "U0BOB", "text": "hi"}
            delivery = bot.slack.event({**message, "ts": f"{time.time():.6f}"})
        assert delivery.status_code == 200, event


def test_an_event_missing_from_the_manifest_is_not_handled(bot: RunningBot) -> None:
    reaction = {"type": "reaction_added", "user": "U0BOB", "reaction": "tada"}
    assert bot.slack.event(reaction).status_code == 404


def test_interactivity_is_on_for_the_buttons_and_modals(
    manifest: dict[str, Any], bolt_app: AsyncApp
) -> None:
    commands, events = registered(bolt_app)
    has_interactions = len(bolt_app._async_listeners) > len(commands) + len(events)
    assert has_interactions
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL}


def test_every_request_url_is_the_bots_events_url(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["event_subscriptions"]["request_url"] == EVENTS_URL
    for entry in manifest["features"]["slash_commands"]:
        assert entry["url"] == EVENTS_URL


def test_a_trailing_slash_in_the_base_url_is_not_doubled() -> None:
    manifest = build_manifest(BASE_URL + "/")
    assert manifest["settings"]["interactivity"]["request_url"] == EVENTS_URL


def test_commands_arrive_escaped_with_a_description_and_usage_hint(
    manifest: dict[str, Any],
) -> None:
    for entry in manifest["features"]["slash_commands"]:
        assert entry["should_escape"] is True
        assert entry["description"]
        assert entry["usage_hint"]
        assert re.fullmatch(r"/[a-z]{1,31}", entry["command"])


def test_scopes_have_no_duplicates(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))


def test_scopes_allow_the_subscribed_message_events(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"channels:history", "groups:history", "commands"} <= scopes


def test_app_home_tab_is_on_and_http_mode_is_used(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_manifest_command_prints_json() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", "--url", BASE_URL],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(completed.stdout) == build_manifest(BASE_URL)


def schema_problems(manifest: dict[str, Any]) -> list[str]:
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


@pytest.mark.parametrize("url", [BASE_URL, "https://example.herokuapp.com", None])
def test_manifest_is_valid_against_slacks_published_schema(url: str | None) -> None:
    assert schema_problems(build_manifest(url)) == []


def test_the_schema_check_catches_a_broken_manifest() -> None:
    manifest = build_manifest(BASE_URL)
    manifest["settings"]["interactivity"]["request_url"] = "qtslack.example.com/slack/events"
    manifest["features"]["bot_user"]["color"] = "blue"
    assert len(schema_problems(manifest)) == 2


def test_socket_mode_manifest_names_no_url_and_turns_socket_mode_on() -> None:
    manifest = build_manifest(None)

    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "://" not in json.dumps(manifest)
    assert manifest["settings"]["interactivity"] == {"is_enabled": True}
    http = build_manifest(BASE_URL)
    assert manifest_commands(manifest) == manifest_commands(http)
    assert manifest_events(manifest) == manifest_events(http)
    assert manifest["oauth_config"] == http["oauth_config"]


def test_manifest_command_in_socket_mode_prints_json_and_the_app_token_step() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", "--socket-mode"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(completed.stdout) == build_manifest(None)
    assert completed.stderr.strip() == SOCKET_MODE_SETUP
    assert "connections:write" in completed.stderr


def manifest_command(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot manifest` with no option, in a clean environment (and no `.env`)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "manifest"],
        env={"PATH": os.environ["PATH"], **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_manifest_command_without_an_option_uses_public_url(tmp_path: Path) -> None:
    completed = manifest_command(tmp_path, PUBLIC_URL=f"{BASE_URL}/")

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == build_manifest(BASE_URL)


@pytest.mark.parametrize("public_url", ["", "http://localhost:3000"])
def test_manifest_command_without_an_option_or_https_public_url_says_what_to_pass(
    tmp_path: Path, public_url: str
) -> None:
    completed = manifest_command(tmp_path, PUBLIC_URL=public_url)

    assert completed.returncode == 2
    assert completed.stdout == ""
    [line] = completed.stderr.splitlines()
    assert line.startswith("qtslack manifest: ")
    assert "--socket-mode" in line
    assert "--url https://" in line
    assert "set PUBLIC_URL" in line
    assert ("is not an https:// address" in line) == bool(public_url)


@pytest.mark.parametrize(
    "args", [["--url", "qtslack.example.com"], ["--socket-mode", "--url", BASE_URL]]
)
def test_manifest_command_needs_one_https_url_or_socket_mode(args: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
