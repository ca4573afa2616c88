"""The bench scripts still run end to end, on a tiny load, so they cannot rot between runs.

Their figures are not judged here (benchmarks print figures, tests never time anything): only
that each starts the real bot, plays its load and prints its report. Exit status 3 means the
script ran and found what it is there to find, which today's code may still give it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = 3


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, FINDINGS), done.stdout + done.stderr
    return done.stdout


def test_fuzz_sends_every_input_to_both_doors_and_reports(
    database_url: str, tmp_path: Path
) -> None:
    findings = tmp_path / "findings.jsonl"
    out = run(
        "fuzz.py",
        *("--count", "20", "--seed", "5", "--drain-seconds", "5"),
        *("--database-url", database_url, "--findings", str(findings)),
    )

    assert re.search(r"^/qtvoice/webhooks\s+20\s", out, re.MULTILINE), out
    assert re.search(r"^/slack/events\s+20\s", out, re.MULTILINE), out
    assert "accepted-but-undelivered:" in out
    assert "reproduce: python bench/fuzz.py --seed 5 --count 20" in out


def test_budget_plays_a_short_busy_spell_and_counts_qtvoice_requests(database_url: str) -> None:
    out = run(
        "budget.py",
        *("--minutes", "5", "--calls", "8", "--numbers", "4", "--known", "1"),
        *("--texts", "3", "--voicemails", "2", "--seed", "5", "--database-url", database_url),
    )

    spent = re.search(r"QTvoice requests spent: (\d+)", out)
    assert spent, out
    # One lookup per caller at most, and one reconcile run (three lists) at minute five.
    assert 3 <= int(spent.group(1)) <= 4 + 3, out
    assert "reproduce: python bench/budget.py --seed 5" in out


def test_refusals_floods_the_door_and_compares_writing_each(database_url: str) -> None:
    args = ["--requests", "40", "--connections", "4", "--writes", "10", "--notes", "100"]
    if database_url.startswith("postgresql"):
        args += ["--database-url", database_url]
    out = run("refusals.py", *args)

    assert re.search(r"^qtslack, SQLite\s+[\d,]+\s", out, re.MULTILINE), out
    assert "SQLite: the flood left 1 row(s), counts add up: yes" in out, out
    assert "µs per refusal" in out


def test_numbers_in_words_prints_its_cost_per_shape() -> None:
    out = run("numbers_in_words.py", "--texts", "20")

    assert len(re.findall(r"offered +[\d.]+ µs · masked +[\d.]+ µs", out)) == 3


def test_month_plays_weeks_a_day_at_a_time_and_prints_each_week(database_url: str) -> None:
    args = ["--days", "8", "--calls", "3", "--voicemails", "1", "--texts", "4"]
    args += ["--contacts", "20", "--people", "4", "--lines", "2", "--probes", "1"]
    if database_url.startswith("postgresql"):
        args += ["--database-url", database_url]
    out = run("month.py", *args)

    weeks = re.findall(r"^\s+(\d)\s+(\d+)\s+[\d.]+\s+\d+/\d+\s+(\d+|nan)ms", out, re.MULTILINE)
    assert [(week, days) for week, days, _ in weeks] == [("1", "7"), ("2", "8")], out
    assert "nan" not in [history for _, _, history in weeks], out
    assert re.search(r"largest tables.*\n.*inbox \d+", out), out


def test_ack_measures_the_floor_and_serve_side_by_side() -> None:
    out = run(
        "ack.py",
        *("--events", "40", "--connections", "4", "--low-events", "5"),
        *("--only", "floor,floor-h11,sqlite-door,sqlite"),
    )

    assert re.search(r"^floor \(read body, 200\)\s+[\d,]+\s", out, re.MULTILINE), out
    assert re.search(r"^floor on h11 \+ asyncio\s+[\d,]+\s", out, re.MULTILINE), out
    # refused, lost and duplicated: 0 each
    assert re.search(r"^qtslack SQLite, Slack.*ms\s+[\d.]+\s+0\s+0\s+0\s", out, re.MULTILINE), out
    # the door alone: nothing refused, and nothing delivered to count as lost
    assert re.search(
        r"^qtslack SQLite door alone\s+[\d,]+\s+[\d.]+\s+\d+ms\s+\d+ms\s+[\d.]+\s+0\s",
        out,
        re.MULTILINE,
    ), out
