"""The weekly report job: last week's callers, per notified channel, at `REPORT_AT`.

"Last week" is the latest whole week, Monday to Sunday in `TIMEZONE`, before the run. Each
channel's report counts the missed calls and voicemails posted there, the share called back
and how fast (`bot.report_figures`), per line and per person; `NOTIFY_CHANNEL` gets one even
in a quiet week. Like the digest, each report is posted with `post_once` under the week's
first day, and a run that posted them all is recorded (`job_runs`): a new leader that runs
the job again that week does nothing and asks nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.delivery.callbacks import callbacks_since
from bot.delivery.followup import channel_messages
from bot.delivery.poster import SlackPoster
from bot.report_figures import KINDS, Caller, weekly_figures
from bot.runtime import Runtime
from bot.slack.blocks import report as report_blocks
from bot.slack.rendering import render_context
from bot.store import job_runs
from bot.store.models import OpenItem, utcnow

logger = logging.getLogger(__name__)

#: Its name in `job_runs`, and the kind of its posts.
JOB = "weekly_report"


def report_week(now: datetime, zone: ZoneInfo) -> date:
    """The Monday (in `zone`) that starts the latest whole week before `now`."""
    today = now.astimezone(zone).date()
    return today - timedelta(days=today.weekday() + 7)


async def send_reports(runtime: Runtime, now: datetime | None = None) -> int:
    """Post last week's report to each notified channel; how many posted."""
    now = now or utcnow()
    settings = runtime.settings
    zone = settings.zone
    first_day = report_week(now, zone)
    start = datetime.combine(first_day, time(0), zone)
    end = datetime.combine(first_day + timedelta(days=7), time(0), zone)
    ctx = render_context(settings)
    poster = SlackPoster(runtime.slack)
    async with runtime.sessions() as session:
        done = await job_runs.last_finished(session, JOB)
        if done is not None and report_week(done, zone) == first_day:
            return 0
        callbacks = await callbacks_since(runtime, session, start)
        items = await session.scalars(
            select(OpenItem)
            .where(
                OpenItem.kind.in_(KINDS), OpenItem.arrived_at >= start, OpenItem.arrived_at < end
            )
            .order_by(OpenItem.arrived_at)
        )
        per_channel: dict[str, list[Caller]] = defaultdict(list)
        per_channel[settings.notify_channel] = []
        for item in list(items):
            caller = Caller(item.kind, item.line, item.party, item.arrived_at)
            for message in await channel_messages(session, item):
                per_channel[message.channel_id].append(caller)
        posted = await poster.post_each(
            session,
            kind=JOB,
            key=first_day.isoformat(),
            messages={
                channel: report_blocks.weekly(weekly_figures(callers, callbacks), first_day, ctx)
                for channel, callers in per_channel.items()
            },
        )
        if posted == len(per_channel):
            await job_runs.finished(session, JOB, now)
    return posted
