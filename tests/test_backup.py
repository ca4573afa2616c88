"""`python -m bot backup FILE`: a consistent copy while webhooks keep coming (SQLite), or the
exact pg_dump command (PostgreSQL). The copy is restored and read back as the README says."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.config import Settings
from bot.ops.backup import backup, pg_dump_command
from bot.store.db import is_sqlite, sync_url
from tests.conftest import RunningBot

#: The load the copy is taken under: 50 webhooks a second, for at most this many.
RATE_PER_SECOND = 50
MAX_WEBHOOKS = 400
#: Senders sharing the schedule, so one slow answer does not hold up the next webhook.
SENDERS = 5


def stored_ids(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    with engine.connect() as connection:
        ids = {row[0] for row in connection.execute(text("SELECT object_id FROM inbox"))}
    engine.dispose()
    return ids


def test_a_backup_taken_at_50_webhooks_a_second_holds_every_event_accepted_before_it(
    bot: RunningBot, settings: Settings, tmp_path: Path
) -> None:
    if not is_sqlite(settings.database_url):
        pytest.skip("PostgreSQL is backed up by pg_dump (see the next test)")
    accepted: list[tuple[float, str]] = []  # (when its 200 came back, its call id)
    stop = threading.Event()
    start = time.monotonic()

    def load(lane: int) -> None:
        """Every SENDERS-th webhook of a schedule of RATE_PER_SECOND, each on its time."""
        with httpx.Client() as client:
            for n in range(lane, MAX_WEBHOOKS, SENDERS):
                if stop.is_set():
                    return
                time.sleep(max(0.0, start + n / RATE_PER_SECOND - time.monotonic()))
                call_id = f"call_{n}_{uuid.uuid4().hex[:6]}"
                envelope = {"event": "call.missed", "data": {"id": call_id}}
                if bot.send_envelope(envelope, client=client).status_code == 200:
                    accepted.append((time.monotonic(), call_id))

    senders = [threading.Thread(target=load, args=(lane,)) for lane in range(SENDERS)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(2)  # the load is on
        began = time.monotonic()
        said = backup(settings.database_url, str(tmp_path / "copy.db"))
        time.sleep(1)  # and goes on after it
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=30)

    assert said.startswith("copied ")
    before = {call_id for at, call_id in accepted if at < began}
    assert len(before) >= 1.5 * RATE_PER_SECOND  # 2 s of load at 50/s came before the copy
    assert len(accepted) > len(before)  # and the load went on during and after the copy
    # Restore as the README says: the copy becomes the database file.
    restored = tmp_path / "restored.db"
    shutil.copy(tmp_path / "copy.db", restored)
    with sqlite3.connect(restored) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    in_copy = stored_ids(f"sqlite:///{restored}")
    assert before <= in_copy
    assert in_copy <= {call_id for _, call_id in accepted}


def test_backup_on_postgresql_prints_the_pg_dump_command_without_the_password() -> None:
    url = "postgresql://qtslack:s3cret-pass@db.example.com:5432/qtslack"
    said = backup(url, "qtslack.dump")
    assert pg_dump_command("qtslack.dump") in said
    assert "s3cret-pass" not in said
    assert '"$DATABASE_URL"' in said


def test_backup_of_a_missing_sqlite_file_says_what_to_check(tmp_path: Path) -> None:
    from bot.errors import OperatorError

    with pytest.raises(OperatorError, match="DATABASE_URL"):
        backup(f"sqlite:///{tmp_path / 'none.db'}", str(tmp_path / "copy.db"))
