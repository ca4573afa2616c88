"""How fast QTvoice's webhooks are acknowledged, beside the floor and a naive receiver, in one run.

    .venv/bin/python bench/ack.py [--events 5000] [--connections 64] [--slack-ms 300]
                                  [--database-url postgresql+psycopg://…/db_the_bench_may_empty]

Each server runs in its own process; the load generator in another (see harness.py for why it
is not wrk). Contenders, in this order:
- floor: a bare Starlette route that reads the body and answers 200 (same uvicorn settings,
  so httptools and uvloop); floor-h11: the same on uvicorn's pure-Python parser and asyncio;
- qtslack on SQLite (`serve`, worker in-process), Slack answering in --slack-ms, then at 0 ms;
- qtslack on PostgreSQL, when --database-url is given (the bench empties that database);
- before each of those, the door alone (`serve --no-worker`, sqlite-door and postgresql-door):
  what answering the webhooks costs without deliveries sharing the CPU (nothing is delivered);
- with `--only …,postgresql2`: the same with WEB_CONCURRENCY=2 (two web processes, each with
  its worker, behind one port);
- with `--only …,sqlite-eager,postgresql-eager`: `serve` whose worker never gives way to the
  webhooks being answered (DELIVERY_GIVE_WAY_SECONDS=0);
- naive: verifies, then posts to Slack inside the request (Slack at --slack-ms).
Each gets --events distinct signed `call.missed` webhooks over --connections keep-alive
connections. For qtslack the bench then waits until every accepted event reached the Slack
sandbox (drain), counts lost and duplicated posts, and times accepted → posted for
--low-events more webhooks sent one at a time at --low-rate per second. Peak RSS is the server
process's high-water mark (VmHWM), summed over its processes when there are several.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import harness

from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.slack import DEFAULT_CHANNELS, SlackRecorder


@dataclass
class Figures:
    name: str
    per_second: float
    p50_ms: float
    p99_ms: float
    refused: int
    rss_mib: float
    lost: int | None = None
    duplicated: int | None = None
    drain_per_second: float | None = None
    posted_p50_ms: float | None = None
    posted_p99_ms: float | None = None


def _load(process: harness.ServerProcess, args: argparse.Namespace) -> tuple[Figures, list[str]]:
    envelopes = harness.missed_calls(args.events)
    answer = harness.run_load(process.port, envelopes, args.connections)
    results = answer["results"]
    latencies = [seconds for status, seconds in results if status == 200]
    accepted = [
        f"missed_call:{envelope['data']['id']}"
        for envelope, (status, _) in zip(envelopes, results, strict=True)
        if status == 200
    ]
    figures = Figures(
        name="",
        per_second=len(latencies) / answer["seconds"],
        p50_ms=harness.quantile(latencies, 0.5) * 1000,
        p99_ms=harness.quantile(latencies, 0.99) * 1000,
        refused=len(results) - len(latencies),
        rss_mib=0.0,
    )
    return figures, accepted


def _wait_posted(slack: SlackRecorder, refs: list[str], timeout: float) -> None:
    wanted = set(refs)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not wanted <= harness.posted_refs(slack).keys():
        time.sleep(0.25)


def run_bot(
    name: str,
    database_url: str,
    slack_ms: float,
    slack: SlackRecorder,
    qtvoice: QTvoiceSandbox,
    workdir: Path,
    args: argparse.Namespace,
    *,
    worker: bool = True,
    **settings: str,
) -> Figures:
    harness.prepare_database(database_url)
    slack.reset()
    slack.delay("chat.postMessage", slack_ms / 1000)
    env = harness.bot_env(database_url, slack.api_url, qtvoice.url, qtvoice.api_key)
    env.update({name.upper(): value for name, value in settings.items()})
    profile = None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = args.profile / f"{name.split(',')[0].replace(' ', '-')}.txt"
    extra = () if worker else ("--no-worker",)
    with harness.server(harness.bot_argv(*extra, profile=profile), env, workdir) as process:
        figures, accepted = _load(process, args)
        if worker:
            _delivered(figures, accepted, process, slack, args)
        figures.rss_mib = process.peak_rss_mib()
    print(f"{name}: server {process.log_summary()}")
    figures.name = name
    _progress(figures)
    return figures


def _delivered(
    figures: Figures,
    accepted: list[str],
    process: harness.ServerProcess,
    slack: SlackRecorder,
    args: argparse.Namespace,
) -> None:
    """Fill in what reached Slack: the drain after the load, then accepted → posted at low load,
    and what was lost or posted twice."""
    load_done = time.monotonic()
    _wait_posted(slack, accepted, args.drain_timeout)
    figures.drain_per_second = len(accepted) / (time.monotonic() - load_done)

    envelopes = harness.missed_calls(args.low_events)
    requests = [harness.signed_request(process.port, envelope) for envelope in envelopes]
    answers = asyncio.run(harness.paced(process.port, requests, args.low_rate))
    acked = {
        f"missed_call:{envelope['data']['id']}": at
        for envelope, (status, at) in zip(envelopes, answers, strict=True)
        if status == 200
    }
    _wait_posted(slack, list(acked), 60)
    time.sleep(1)  # let a duplicate, if any, arrive before counting
    posted = harness.post_times(slack)
    delays = [(posted[ref] - at) * 1000 for ref, at in acked.items() if ref in posted]
    figures.posted_p50_ms = harness.quantile(delays, 0.5)
    figures.posted_p99_ms = harness.quantile(delays, 0.99)
    counts = harness.posted_refs(slack)
    every = [*accepted, *acked]
    figures.lost = sum(1 for ref in every if ref not in counts)
    figures.duplicated = sum(counts[ref] - 1 for ref in every if counts[ref] > 1)


def run_plain(
    name: str, kind: str, slack: SlackRecorder, workdir: Path, args: argparse.Namespace
) -> Figures:
    slack.reset()
    slack.delay("chat.postMessage", args.slack_ms / 1000)
    env = {"SLACK_API_URL": slack.api_url}
    with harness.server(harness.helper_argv(kind), env, workdir) as process:
        figures, _ = _load(process, args)
        figures.rss_mib = process.peak_rss_mib()
    figures.name = name
    _progress(figures)
    return figures


def _progress(figures: Figures) -> None:
    """One line as soon as a contender is measured, so a later failure loses nothing."""
    print(
        f"{figures.name}: {figures.per_second:,.0f}/s, ack p50 {figures.p50_ms:,.0f} ms,"
        f" p99 {figures.p99_ms:,.0f} ms",
        flush=True,
    )


def _cell(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return ""
    return f"{value:,.0f}{unit}"


def report(rows: list[Figures]) -> None:
    floor = rows[0]
    width = max(len(row.name) for row in rows)
    print(
        f"{'':<{width}} {'accepted/s':>10} {'x floor':>6} {'ack p50':>9} {'ack p99':>9} {'x floor':>6}"
        f" {'refused':>7} {'lost':>5} {'dup':>4} {'drain/s':>8} {'→posted p50':>11}"
        f" {'p99':>7} {'peak RSS':>9}"
    )
    for row in rows:
        print(
            f"{row.name:<{width}} {row.per_second:>10,.0f} {row.per_second / floor.per_second:>6.2f}"
            f" {row.p50_ms:>7,.0f}ms {row.p99_ms:>7,.0f}ms {row.p99_ms / floor.p99_ms:>6.2f}"
            f" {row.refused:>7} {_cell(row.lost):>5} {_cell(row.duplicated):>4}"
            f" {_cell(row.drain_per_second):>8} {_cell(row.posted_p50_ms, 'ms'):>11}"
            f" {_cell(row.posted_p99_ms, 'ms'):>7} {row.rss_mib:>6.0f}MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--slack-ms", type=float, default=300, help="Slack's answer time")
    parser.add_argument(
        "--database-url", help="a PostgreSQL database the bench may empty (adds a row)"
    )
    parser.add_argument("--low-events", type=int, default=200)
    parser.add_argument("--low-rate", type=float, default=20, help="low-load webhooks per second")
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument(
        "--profile", type=Path, help="run qtslack under py-spy, collapsed stacks into this folder"
    )
    parser.add_argument(
        "--only",
        default="floor,floor-h11,sqlite-door,sqlite,sqlite0,postgresql-door,postgresql,naive",
        help="contenders to run",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))

    print("command:", shlex.join([".venv/bin/python", "bench/ack.py", *sys.argv[1:]]))
    print("machine:", harness.machine())
    print(
        f"load: {args.events} distinct signed call.missed webhooks over {args.connections}"
        f" connections; Slack answers chat.postMessage in {args.slack_ms:.0f} ms"
    )
    channels = {**DEFAULT_CHANNELS, harness.NOTIFY_CHANNEL: "bench"}
    rows: list[Figures] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        QTvoiceSandbox() as qtvoice,
        SlackRecorder(harness.BOT_TOKEN, channels=channels) as slack,
    ):
        workdir = Path(tmp)
        sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
        slow = f"Slack {args.slack_ms:.0f} ms"
        if "floor" in only:
            rows.append(run_plain("floor (read body, 200)", "floor", slack, workdir, args))
        if "floor-h11" in only:
            rows.append(run_plain("floor on h11 + asyncio", "floor-h11", slack, workdir, args))
        postgres = args.database_url
        # A worker that never gives way to the door (as before DELIVERY_GIVE_WAY_SECONDS).
        eager = {"delivery_give_way_seconds": "0"}
        # (name in --only, row name, database, Slack's answer time, settings)
        bots: list[tuple[str, str, str | None, float, dict[str, str]]] = [
            ("sqlite-door", "qtslack SQLite door alone", sqlite_url, args.slack_ms, {}),
            ("sqlite", f"qtslack SQLite, {slow}", sqlite_url, args.slack_ms, {}),
            ("sqlite0", "qtslack SQLite, Slack 0 ms", sqlite_url, 0, {}),
            ("sqlite-eager", f"qtslack SQLite eager, {slow}", sqlite_url, args.slack_ms, eager),
            ("postgresql-door", "qtslack PostgreSQL door alone", postgres, args.slack_ms, {}),
            ("postgresql", f"qtslack PostgreSQL, {slow}", postgres, args.slack_ms, {}),
            ("postgresql-eager", f"qtslack PG eager, {slow}", postgres, args.slack_ms, eager),
            (
                "postgresql2",
                f"qtslack PostgreSQL x2, {slow}",
                postgres,
                args.slack_ms,
                {"web_concurrency": "2"},
            ),
        ]
        for key, name, url, slack_ms, settings in bots:
            if key in only and url:
                worker = not key.endswith("-door")
                rows.append(
                    run_bot(
                        name,
                        url,
                        slack_ms,
                        slack,
                        qtvoice,
                        workdir,
                        args,
                        worker=worker,
                        **settings,
                    )
                )
        if "naive" in only:
            rows.append(run_plain(f"naive (posts inside), {slow}", "naive", slack, workdir, args))
    print()
    report(rows)


if __name__ == "__main__":
    main()
