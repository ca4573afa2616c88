"""The operator's commands, run as an operator would: `python -m bot …` in a subprocess."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from bot.config import Settings
from bot.demo import keep_running_command
from bot.sandbox.qtvoice import DEFAULT_READ_ONLY_KEY, QTvoiceSandbox, send_webhook
from bot.sandbox.samples import sample_event
from bot.sandbox.server import free_port
from bot.sandbox.slack import DEFAULT_APP_TOKEN, SlackRecorder
from bot.slack.manifest import BOT_SCOPES
from bot.store.db import sync_url
from tests.conftest import (
    BOT_TOKEN,
    NOTIFY_CHANNEL,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    RunningBot,
    process_environment,
    start_bot,
)
from tests.helpers.cli import run, run_into_closed_pipe, serve_process, serving, wait_for_health


@pytest.fixture
def environment(qtvoice: QTvoiceSandbox, slack: SlackRecorder, tmp_path: Path) -> dict[str, str]:
    """What an operator's .env would hold, pointed at the sandboxes and a fresh SQLite file."""
    return process_environment(
        f"sqlite:///{tmp_path / 'fresh.db'}", qtvoice, slack, RECONCILE_INTERVAL_SECONDS="0"
    )


def test_serve_migrates_a_fresh_sqlite_file_and_delivers(
    environment: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    with serving(environment, tmp_path) as served:
        response = send_webhook(
            f"{served.url}/qtvoice/webhooks", sample_event("call.missed"), WEBHOOK_SECRET
        )
        posted = slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))
    health, output = served.health, served.output

    assert health["status"] == "ok"
    assert response.status_code == 200
    assert posted[0].args["channel"] == NOTIFY_CHANNEL
    engine = create_engine(sync_url(environment["DATABASE_URL"]))
    assert "inbox" in inspect(engine).get_table_names()
    engine.dispose()
    for secret in (BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET, environment["QTVOICE_API_KEY"]):
        assert secret not in output


def check(environment: dict[str, str], cwd: Path) -> tuple[int, dict[str, str]]:
    """Run `check`; its exit code and each line's verdict and text by check name."""
    result = run("check", env=environment, cwd=cwd)
    assert result.stderr == ""
    assert "Traceback" not in result.stdout
    lines: dict[str, str] = {}
    for line in result.stdout.splitlines():
        verdict, rest = line.split(None, 1)
        name, text = rest.split(": ", 1)
        lines[name] = f"{verdict} {text}"
    return result.returncode, lines


@pytest.fixture
def migrated(environment: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment, its database migrated as `make migrate` does."""
    assert run("migrate", env=environment, cwd=tmp_path).returncode == 0
    return environment


def add_route(environment: dict[str, str], target: str, channel: str) -> None:
    engine = create_engine(sync_url(environment["DATABASE_URL"]))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO routes (target, channel_id, created_by, created_at) "
                "VALUES (:target, :channel, 'U0ADMIN', CURRENT_TIMESTAMP)"
            ),
            {"target": target, "channel": channel},
        )
    engine.dispose()


def test_check_passes_a_good_setup_line_by_line(migrated: dict[str, str], tmp_path: Path) -> None:
    """Socket Mode: an HTTP deployment passes only at a public https:// address, which the
    sandboxes on this machine cannot be (see the public url tests below)."""
    add_route(migrated, "101", "C0SUPPORT")
    migrated["SLACK_APP_TOKEN"] = DEFAULT_APP_TOKEN

    status, lines = check(migrated, tmp_path)

    assert status == 0, lines
    assert list(lines) == [
        "settings",
        "database",
        "slack",
        "scopes",
        f"channel {NOTIFY_CHANNEL}",
        "channel C0SUPPORT",
        "socket mode",
        "public url",
        "qtvoice",
        "webhook secret",
    ]
    assert not [line for line in lines.values() if line.startswith("FAIL")]
    assert "#support (the route for 101)" in lines["channel C0SUPPORT"]
    assert "a Socket Mode connection opened" in lines["socket mode"]
    assert lines["public url"].startswith("skip unset: QTvoice's webhooks cannot reach")
    assert "may place calls and send texts" in lines["qtvoice"]


def test_check_fails_a_public_url_on_this_machine_even_when_it_answers_as_this_bot(
    migrated: dict[str, str], tmp_path: Path, bot: RunningBot
) -> None:
    """Slack sends only to a public https:// address: http://127.0.0.1 serving this very bot
    (as `make serve` does) is no address for the Slack app."""
    migrated |= {"SLACK_APP_TOKEN": "", "PUBLIC_URL": bot.url}

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert [name for name, line in lines.items() if line.startswith("FAIL")] == ["public url"]
    assert lines["public url"] == (
        f"FAIL {bot.url} is this machine, and Slack only sends to a public https:// address: "
        "set PUBLIC_URL to your deployment's https URL, or use Socket Mode with SLACK_APP_TOKEN; "
        "from here it answers as this bot"
    )


def test_check_in_socket_mode_fails_a_local_public_url_for_qtvoices_sake(
    migrated: dict[str, str], tmp_path: Path, bot: RunningBot
) -> None:
    migrated |= {"SLACK_APP_TOKEN": DEFAULT_APP_TOKEN, "PUBLIC_URL": bot.url}

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["socket mode"].startswith("ok ")
    assert lines["public url"].startswith(
        f"FAIL {bot.url} is this machine, and QTvoice only sends webhooks to a public https://"
    )
    assert "or unset it (the poller then fetches missed events every 0 s)" in lines["public url"]


def test_check_fails_when_slack_cannot_reach_the_bot(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    migrated["SLACK_APP_TOKEN"] = ""

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["public url"].startswith("FAIL Slack cannot reach the bot")
    assert "SLACK_APP_TOKEN" in lines["public url"]
    assert "make manifest URL=" in lines["public url"]


def test_check_fails_on_a_public_url_that_is_not_this_deployment(
    migrated: dict[str, str], tmp_path: Path, bot: RunningBot
) -> None:
    migrated |= {"PUBLIC_URL": bot.url, "SLACK_SIGNING_SECRET": "another_apps_signing_secret"}

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["public url"].startswith(f"FAIL {bot.url} is this machine")
    assert lines["public url"].endswith(
        "; from here it is a bot with another SLACK_SIGNING_SECRET (a signed challenge was refused)"
    )


def test_check_fails_on_a_public_url_nobody_answers(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    migrated["PUBLIC_URL"] = nobody

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["public url"].startswith(f"FAIL {nobody} is this machine")
    assert lines["public url"].endswith(
        f"from here it cannot be reached (connection refused by {nobody[7:]}: nothing is "
        "listening there)"
    )


def test_check_fails_on_a_public_https_url_that_does_not_resolve(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    migrated["PUBLIC_URL"] = "https://qtslack-check.invalid"

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["public url"] == (
        "FAIL https://qtslack-check.invalid cannot be reached (DNS lookup failed: the host name "
        "qtslack-check.invalid does not resolve); is the bot running there, and PUBLIC_URL right?"
    )


@pytest.mark.parametrize("broken", ["settings", "qtvoice"])
def test_check_into_a_closed_pipe_still_exits_1_on_a_failure(
    migrated: dict[str, str], tmp_path: Path, broken: str
) -> None:
    """`check | head -1`: the reader leaves after the first line, whichever line fails."""
    if broken == "settings":
        migrated["NOTIFY_CHANNEL"] = "#general"
    else:
        migrated["QTVOICE_API_KEY"] = DEFAULT_READ_ONLY_KEY

    result = run_into_closed_pipe("check", env=migrated, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == ""


def test_check_settings_names_each_mistyped_setting_and_checks_nothing_else(
    environment: dict[str, str], tmp_path: Path
) -> None:
    environment |= {"NOTIFY_CHANNEL": "#general", "TIMEZONE": "America/NewYork"}

    result = run("check", "--settings", env=environment, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == ""
    notify, zone = result.stdout.splitlines()
    assert notify.startswith("FAIL  settings: NOTIFY_CHANNEL must be a channel ID like C0123ABCD")
    assert zone.startswith("FAIL  settings: TIMEZONE is not a known IANA time zone")


def test_check_settings_passes_good_settings_touching_no_database_or_network(
    environment: dict[str, str], tmp_path: Path
) -> None:
    """What Heroku's release phase runs before `migrate`: a fresh database, nothing reached."""
    nobody = f"http://127.0.0.1:{free_port()}"
    environment |= {"SLACK_API_URL": f"{nobody}/api/", "QTVOICE_API_URL": f"{nobody}/api/v1"}

    result = run("check", "--settings", env=environment, cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        "ok    settings: every required setting is set, and none is a template placeholder"
    ]
    assert not (tmp_path / "fresh.db").exists()


def test_check_reports_a_read_only_qtvoice_key_without_calling_or_texting(
    migrated: dict[str, str], qtvoice: QTvoiceSandbox, tmp_path: Path
) -> None:
    migrated["QTVOICE_API_KEY"] = DEFAULT_READ_ONLY_KEY
    calls, texts = len(qtvoice.state.calls()), len(qtvoice.state.sms())

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["qtvoice"].startswith("FAIL the API key reads (3 extensions) but may not place")
    assert "calls and SMS permissions" in lines["qtvoice"]
    assert (len(qtvoice.state.calls()), len(qtvoice.state.sms())) == (calls, texts)
    assert DEFAULT_READ_ONLY_KEY not in str(lines)


def test_check_fails_while_the_webhook_secret_is_unset_and_webhooks_say_why(
    migrated: dict[str, str], tmp_path: Path, settings: Settings, slack: SlackRecorder
) -> None:
    migrated["QTVOICE_WEBHOOK_SECRET"] = ""
    unset = settings.model_copy(update={"qtvoice_webhook_secret": None})
    running = start_bot(unset, slack)
    try:
        refused = running.send("call.missed")
    finally:
        running.stop()

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["webhook secret"].startswith("FAIL QTVOICE_WEBHOOK_SECRET is unset")
    assert refused.status_code == 401
    assert "no QTVOICE_WEBHOOK_SECRET" in refused.json()["error"]


def test_check_fails_on_an_app_token_slack_refuses(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    migrated["SLACK_APP_TOKEN"] = "xapp-1-A0QTSLACK-1-revoked"

    status, lines = check(migrated, tmp_path)

    assert status == 1
    line = lines["socket mode"]
    assert line.startswith("FAIL Slack refused SLACK_APP_TOKEN (invalid_auth)")
    assert "connections:write" in line
    assert "revoked" not in line


def test_check_fails_on_an_unmigrated_database_saying_to_migrate(
    environment: dict[str, str], tmp_path: Path
) -> None:
    environment["SLACK_APP_TOKEN"] = DEFAULT_APP_TOKEN
    status, lines = check(environment, tmp_path)

    assert status == 1
    assert lines["database"].startswith("FAIL ")
    assert "has not been migrated" in lines["database"]
    assert "python -m bot migrate" in lines["database"]
    assert [name for name, line in lines.items() if line.startswith("FAIL")] == ["database"]


def test_check_fails_on_a_channel_that_does_not_exist(
    migrated: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    slack.remove_channel(NOTIFY_CHANNEL)

    status, lines = check(migrated, tmp_path)

    assert status == 1
    line = lines[f"channel {NOTIFY_CHANNEL}"]
    assert line.startswith("FAIL ")
    assert f"no channel {NOTIFY_CHANNEL}" in line
    assert "set NOTIFY_CHANNEL to the right ID" in line


def test_check_checks_routed_channels_and_says_to_invite_to_a_private_one(
    migrated: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    add_route(migrated, "+12155550100", "G0SECRET")
    add_route(migrated, "102", "C0GENERAL")
    slack.remove_bot_from("G0SECRET")
    slack.remove_bot_from("C0GENERAL")

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["channel G0SECRET"].startswith("FAIL ")
    assert "/invite @qtslack" in lines["channel G0SECRET"]
    assert "/qtvoice routes" in lines["channel G0SECRET"]
    assert lines["channel C0GENERAL"].startswith("ok ")
    assert "joins it on its first post" in lines["channel C0GENERAL"]


def test_check_names_scopes_the_manifest_asks_for_and_the_app_lacks(
    migrated: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    slack.grant_scopes(scope for scope in BOT_SCOPES if scope not in {"channels:join", "im:write"})

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["scopes"].startswith("FAIL the app lacks channels:join, im:write")
    assert "Reinstall" in lines["scopes"]


def test_check_says_when_recordings_are_on_and_the_app_lacks_files_write(
    migrated: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    slack.grant_scopes(BOT_SCOPES)

    status, lines = check({**migrated, "UPLOAD_RECORDINGS": "true"}, tmp_path)

    assert status == 1
    assert lines["scopes"].startswith("FAIL the app lacks files:write")
    assert "because UPLOAD_RECORDINGS is on" in lines["scopes"]


def test_the_manifest_asks_for_files_write_only_when_recordings_are_uploaded(
    tmp_path: Path,
) -> None:
    def scopes(**env: str) -> list[str]:
        result = run(
            "manifest", "--socket-mode", env={"PATH": os.environ["PATH"], **env}, cwd=tmp_path
        )
        return list(json.loads(result.stdout)["oauth_config"]["scopes"]["bot"])

    assert "files:write" not in scopes()
    assert "files:write" in scopes(UPLOAD_RECORDINGS="true")


@pytest.mark.parametrize("placeholder", ["xoxb-", "xoxb-YOUR-BOT-TOKEN"])
def test_check_fails_on_a_placeholder_token_without_echoing_it(
    migrated: dict[str, str], tmp_path: Path, placeholder: str
) -> None:
    migrated["SLACK_BOT_TOKEN"] = placeholder

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert lines["settings"].startswith("FAIL SLACK_BOT_TOKEN still holds a placeholder")
    assert "OAuth & Permissions" in lines["settings"]
    assert "YOUR-BOT-TOKEN" not in "".join(lines.values())


def test_check_fails_with_one_line_per_failing_service(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    migrated |= {
        "SLACK_BOT_TOKEN": "xoxb-revoked",
        "QTVOICE_API_KEY": "qtv_wrong",
        "SLACK_APP_TOKEN": DEFAULT_APP_TOKEN,
    }

    status, lines = check(migrated, tmp_path)

    assert status == 1
    failing = {name: line for name, line in lines.items() if line.startswith("FAIL")}
    assert list(failing) == ["slack", "qtvoice"]
    assert "copy the Bot User OAuth Token" in failing["slack"]
    assert "QTVOICE_API_KEY" in failing["qtvoice"]
    assert lines["channels"].startswith("skip ")
    assert "xoxb-revoked" not in str(lines)
    assert "qtv_wrong" not in str(lines)


def test_check_names_dns_and_connection_failures_as_such(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    migrated |= {
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "QTVOICE_API_URL": "http://qtvoice.invalid/api/v1",
    }

    status, lines = check(migrated, tmp_path)

    assert status == 1
    assert "connection refused by 127.0.0.1" in lines["slack"]
    assert "DNS lookup failed: the host name qtvoice.invalid does not resolve" in lines["qtvoice"]
    assert "having trouble" not in lines["qtvoice"]


def test_send_webhook_posts_a_signed_sample_to_a_running_bot(
    bot: RunningBot, slack: SlackRecorder, tmp_path: Path
) -> None:
    env = {"PATH": os.environ["PATH"], "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET}

    result = run("send-webhook", "voicemail.new", "--url", bot.webhook_url, env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "HTTP 200" in result.stdout
    slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))


def test_the_demo_suggests_a_keep_running_command_that_runs_from_the_clone() -> None:
    # As typed in a fresh shell at the clone's root: no virtualenv on PATH.
    command = shlex.split(keep_running_command())

    result = subprocess.run(
        [*command, "--help"],
        env={"PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "--keep-running" in result.stdout


def test_send_webhook_names_the_events_it_knows(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET}

    result = run(
        "send-webhook", "call.teleported", "--url", "http://127.0.0.1:9", env=env, cwd=tmp_path
    )

    assert result.returncode == 2
    assert "call.missed" in result.stderr


def test_worker_delivers_what_a_web_only_process_stored(
    settings: Settings, slack: SlackRecorder, environment: dict[str, str], tmp_path: Path
) -> None:
    web = start_bot(settings, slack, run_worker=False)
    environment["DATABASE_URL"] = settings.database_url
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert web.send("call.missed").status_code == 200
        posted = slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
        web.stop()

    assert posted[0].args["channel"] == NOTIFY_CHANNEL
    assert worker.returncode == 0


@pytest.mark.parametrize("command", [["deliveries"], ["deliveries", "--failed"], ["replay", "7"]])
def test_operator_commands_on_an_unmigrated_database_say_to_migrate_in_one_line(
    environment: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    result = run(*command, env=environment, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"qtslack {command[0]}: ")
    assert "has not been migrated" in line
    assert "python -m bot migrate" in line


@pytest.mark.parametrize("command", [["deliveries"], ["replay", "7"], ["migrate"]])
def test_operator_commands_on_an_unreachable_database_say_so_in_one_line(
    environment: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    environment["DATABASE_URL"] = f"postgres://qtslack:hunter2@127.0.0.1:{free_port()}/qtslack"

    result = run(*command, env=environment, cwd=tmp_path)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "cannot open postgresql+psycopg://qtslack:***@127.0.0.1" in line
    assert "check DATABASE_URL" in line
    assert "hunter2" not in line


def test_operator_commands_work_once_migrated(migrated: dict[str, str], tmp_path: Path) -> None:
    listed = run("deliveries", env=migrated, cwd=tmp_path)
    replayed = run("replay", "7", env=migrated, cwd=tmp_path)

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[-3:] == [
        "stored events: none",
        "last webhook accepted: none yet",
        "webhooks refused in the last day: none",
    ]
    assert replayed.returncode == 1
    assert replayed.stdout.strip() == "no stored event 7; `deliveries` lists them"


def test_send_webhook_to_a_port_nobody_listens_on_says_so_in_one_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    url = f"http://127.0.0.1:{free_port()}/qtvoice/webhooks"

    result = run("send-webhook", "call.missed", "--url", url, env=env, cwd=tmp_path)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"qtslack send-webhook: cannot send to {url}: connection refused")
    assert "is the bot running" in line


def web_processes(pid: int) -> list[int]:
    """The processes uvicorn started under `pid` to serve requests (not its resource tracker)."""
    children = [
        int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ]
    return [
        child
        for child in children
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_serve_on_sqlite_runs_one_process_whatever_web_concurrency_says(
    environment: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    port = free_port()
    server = serve_process({**environment, "WEB_CONCURRENCY": "3"}, tmp_path, port)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz")
        children = web_processes(server.pid)
        response = send_webhook(
            f"http://127.0.0.1:{port}/qtvoice/webhooks", sample_event("call.missed"), WEBHOOK_SECRET
        )
        slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)

    assert children == []
    assert response.status_code == 200
    assert (
        "WEB_CONCURRENCY=3 ignored: SQLite is served by one process; set DATABASE_URL to "
        "PostgreSQL to run several web processes" in output
    )


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several web processes need PostgreSQL (TEST_DATABASE_URL=postgresql…)",
)
@pytest.mark.parametrize("no_worker", [False, True])
def test_serve_runs_web_concurrency_processes_behind_one_port_on_postgresql(
    settings: Settings,
    environment: dict[str, str],
    slack: SlackRecorder,
    tmp_path: Path,
    no_worker: bool,
) -> None:
    port = free_port()
    environment = {**environment, "DATABASE_URL": settings.database_url, "WEB_CONCURRENCY": "2"}
    extra = ["--no-worker"] if no_worker else []
    server = serve_process(environment, tmp_path, port, *extra)
    worker = None
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz", timeout=90)
        deadline = time.monotonic() + 30
        while len(web_processes(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        children = web_processes(server.pid)
        if no_worker:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker"],
                env=environment,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        envelopes = [sample_event("call.missed") for _ in range(20)]
        answers = [
            send_webhook(f"http://127.0.0.1:{port}/qtvoice/webhooks", envelope, WEBHOOK_SECRET)
            for envelope in envelopes
        ]
        slack.wait_for(lambda: len(slack.calls("chat.postMessage", ok=True)) >= 20, timeout=30)
        time.sleep(0.5)  # a second post of any of them would have arrived by now
        posted = slack.calls("chat.postMessage", ok=True)
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    assert len(children) == 2
    assert [answer.status_code for answer in answers] == [200] * 20
    assert len(posted) == 20
    assert "Traceback" not in output


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several web processes need PostgreSQL (TEST_DATABASE_URL=postgresql…)",
)
def test_metrics_of_web_concurrency_processes_are_merged_whichever_answers(
    settings: Settings, environment: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    token = "metrics-token-0123456789"
    environment = {
        **environment,
        "DATABASE_URL": settings.database_url,
        "WEB_CONCURRENCY": "2",
        "METRICS_TOKEN": token,
    }
    with serving(environment, tmp_path) as served:
        for _ in range(20):
            send_webhook(
                f"{served.url}/qtvoice/webhooks", sample_event("call.missed"), WEBHOOK_SECRET
            )
        slack.wait_for(lambda: len(slack.calls("chat.postMessage", ok=True)) >= 20, timeout=30)
        time.sleep(1)  # the last finish is counted just after its post
        scrapes = [
            httpx.get(f"{served.url}/metrics", headers={"Authorization": f"Bearer {token}"}).text
            for _ in range(8)  # a new connection each: both processes answer some
        ]

    for scrape in scrapes:
        assert 'qtslack_webhooks_total{outcome="accepted"} 20.0' in scrape
        assert 'qtslack_deliveries_total{outcome="delivered"} 20.0' in scrape
    assert "Traceback" not in served.output
