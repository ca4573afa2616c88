"""Forgetting a caller: `/qtvoice forget` (admins, confirmed) and `python -m bot forget`.

The caller first reaches the bot the way callers do (a missed call, a voicemail, texts, a
STOP), then is forgotten; the proof reads every text column of every table straight from
the database, with no knowledge of what `forget` looks at, for the number in any spelling.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import MAIN_LINE
from bot.sandbox.slack import SlackRecorder
from bot.store.models import OptOut
from tests.conftest import ADMIN, NOTIFY_CHANNEL, RunningBot, process_environment
from tests.helpers.cli import run

CALLER = "+12675550188"
DIGITS = "2675550188"
TYPED = "(267) 555-0188"


@pytest.fixture
def slack(admin_slack: SlackRecorder) -> SlackRecorder:
    """The workspace with the admin in it."""
    return admin_slack


def traces(db: Engine) -> dict[str, int]:
    """Rows per table where any text column holds the caller's digits, however punctuated;
    opt_outs aside."""
    found: dict[str, int] = {}
    inspector = inspect(db)
    with db.connect() as connection:
        for table in inspector.get_table_names():
            if table in ("opt_outs", "alembic_version"):
                continue
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                values = [value for value in row if isinstance(value, str | dict | list)]
                words = [json.dumps(v) if not isinstance(v, str) else v for v in values]
                if any(DIGITS in "".join(c for c in word if c.isdigit()) for word in words):
                    found[table] = found.get(table, 0) + 1
    return found


def delivered(db: Engine) -> bool:
    with db.connect() as connection:
        states = [row[0] for row in connection.execute(text("SELECT state FROM inbox"))]
    return len(states) == 4 and set(states) == {"done"}


def meet_the_caller(bot: RunningBot, slack: SlackRecorder, db: Engine) -> None:
    """A missed call, a voicemail that says the number, a text and a STOP, all in Slack."""
    bot.send("call.missed", id="call_forget_1", from_=CALLER, to=MAIN_LINE)
    bot.send(
        "voicemail.new",
        id="vm_forget_1",
        from_=CALLER,
        to=MAIN_LINE,
        transcription=f"Call me back at {TYPED}, thanks",
    )
    bot.send("sms.received", id="sms_forget_1", from_=CALLER, to=MAIN_LINE, message="Hi there")
    bot.send("sms.received", id="sms_forget_2", from_=CALLER, to=MAIN_LINE, message="STOP")
    slack.wait_for(lambda: delivered(db), timeout=20)


def test_forget_from_slack_leaves_no_trace_but_the_opt_out(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    meet_the_caller(bot, slack, db)
    assert traces(db)  # the caller is in the tables before

    refused = bot.command("/qtvoice", f"forget {TYPED}", user="U0ALICE")
    assert "Only QTvoice admins" in refused["text"]
    asked = bot.command("/qtvoice", f"forget {TYPED}", user=ADMIN)
    assert "Erase everything" in asked["text"]
    assert traces(db)  # nothing erased before the confirmation

    message = {"type": "message", "ts": "1.000001", "blocks": asked["blocks"]}
    [sealed] = [
        element["value"]
        for block in asked["blocks"]
        for element in block.get("elements") or []
        if element.get("action_id") == "forget_number"
    ]
    click = bot.slack.block_action(
        "forget_number",
        sealed,
        user_id=ADMIN,
        message_ts="1.000001",
        message=message,
    )
    assert click.status_code == 200
    done = slack.wait_for(lambda: slack.responses(click.response_url_key))[0]["text"]

    assert done.startswith("Done: erased")
    assert "stored events" in done
    assert "Slack messages deleted" in done
    assert traces(db) == {}
    with Session(db) as session:
        assert session.scalar(select(OptOut.phone)) == CALLER
    shown = json.dumps(slack.messages(NOTIFY_CHANNEL))
    assert "0188" not in shown, shown


def test_forget_command_reports_counts_per_kind(
    bot: RunningBot,
    settings: Settings,
    qtvoice: QTvoiceSandbox,
    slack: SlackRecorder,
    db: Engine,
    tmp_path: Path,
) -> None:
    meet_the_caller(bot, slack, db)
    env = process_environment(settings.database_url, qtvoice, slack)

    result = run("forget", CALLER, env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("erased ")
    assert "stored events: 4" in result.stdout
    assert "Slack messages deleted" not in result.stdout  # only with --slack
    assert traces(db) == {}
    assert slack.calls("chat.delete") == []


def test_forget_refuses_what_is_not_a_number(
    settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder, tmp_path: Path
) -> None:
    env = process_environment(settings.database_url, qtvoice, slack)
    result = run("forget", "12", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "not a phone number" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_forget_button_the_bot_never_sealed_erases_nothing(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    meet_the_caller(bot, slack, db)
    message = {"type": "message", "ts": "1.000001", "blocks": []}
    forged = bot.slack.block_action(
        "forget_number",
        json.dumps({"n": CALLER}),
        user_id=ADMIN,
        message_ts="1.000001",
        message=message,
    )
    told = slack.wait_for(lambda: slack.responses(forged.response_url_key))[0]["text"]
    assert "out of date" in told
    assert traces(db)
