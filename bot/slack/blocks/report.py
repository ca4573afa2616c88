"""Block Kit for the weekly report: last week's callers per line and per person.

Pure: `WeeklyFigures` in, a message out. The per-line figures are a Block Kit `table` (one
per message, as Slack allows); the message's `simpler` layout says the same in sections,
for a workspace that answers the table with `invalid_blocks` (`SlackPoster` sends it
then). Lines are our own numbers, shown whole; people are mentions when their id has the
shape of a Slack user id, else an extension's label, escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from bot import phone
from bot.report_figures import LineFigures, Speed, WeeklyFigures
from bot.slack.blocks.digest import span
from bot.slack.blocks.kit import (
    Block,
    Message,
    RenderContext,
    context,
    escape_mrkdwn,
    header,
    mention,
    section,
)
from bot.slack.blocks.notifications import Line

HEADER = ("Line", "Missed", "Voicemails", "Returned", "Median", "90th pct")
NO_TIME = "-"


def weekly(figures: WeeklyFigures, first_day: date, ctx: RenderContext) -> Message:
    """The report of the week starting on `first_day` (a Monday in `TIMEZONE`)."""
    last_day = first_day + timedelta(days=6)
    title = f"Weekly report, {first_day:%a %b} {first_day.day} to {last_day:%a %b} {last_day.day}"
    heading = header(f"📊 {title}")
    people = _people_section(figures.people)
    if not figures.lines:
        quiet = section("report_quiet", "No missed calls or voicemails last week. 🎉")
        return Message(f"{title}: no missed calls or voicemails", [heading, quiet])
    missed = sum(line.missed for line in figures.lines)
    voicemails = sum(line.voicemails for line in figures.lines)
    text = f"{title}: {missed} missed calls, {voicemails} voicemails"
    note = context(
        "report_note",
        "Time to call back: from the call or voicemail to the first call to that number.",
    )
    table = {
        "type": "table",
        "block_id": "report_lines",
        "column_settings": [{"is_wrapped": True}] + [{"align": "right"}] * (len(HEADER) - 1),
        "rows": [[_cell(title) for title in HEADER]]
        + [[_cell(value) for value in _line_row(line, ctx)] for line in figures.lines],
    }
    sections = [
        section(f"report_line_{n}", _line_text(line, ctx)) for n, line in enumerate(figures.lines)
    ]
    simpler = Message(text, [heading, *sections, people, note])
    return Message(text, [heading, table, people, note], simpler=simpler)


def _line_row(line: LineFigures, ctx: RenderContext) -> list[str]:
    """A table row: raw text, which Slack shows as it is (nothing to escape)."""
    return [
        phone.display(line.line, ctx.default_region) if line.line else "Unknown line",
        str(line.missed),
        str(line.voicemails),
        f"{line.speed.returned} ({line.share_returned:.0%})",
        _time(line.speed.median),
        _time(line.speed.p90),
    ]


def _line_text(line: LineFigures, ctx: RenderContext) -> str:
    return (
        f"*{Line(line.line).mrkdwn(ctx)}*\n"
        f"{line.missed} missed · {line.voicemails} voicemails · "
        f"returned {line.speed.returned} ({line.share_returned:.0%}) · {_speed_text(line.speed)}"
    )


def _people_section(people: Sequence[tuple[str, Speed]]) -> Block:
    if not people:
        return section("report_people", "👤 *Per person*\nNobody called a caller back last week.")
    rows = [
        f"• {_who(person)}: {speed.returned} returned · {_speed_text(speed)}"
        for person, speed in people
    ]
    return section("report_people", "👤 *Per person*\n" + "\n".join(rows))


def _speed_text(speed: Speed) -> str:
    if speed.median is None:
        return "none called back"
    return f"median {_time(speed.median)}, 90th percentile {_time(speed.p90)}"


def _who(person: str) -> str:
    return mention(person) or escape_mrkdwn(person[:40])


def _time(length: timedelta | None) -> str:
    return NO_TIME if length is None else span(length)


def _cell(text: str) -> Block:
    return {"type": "raw_text", "text": text}
