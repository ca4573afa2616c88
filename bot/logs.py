"""Logging set-up, and the one scrubber for text leaving the bot for a log or a stored reason.

`Scrubber` takes out every configured secret (and anything shaped like a Slack token) and,
with `MASK_NUMBERS`, every phone number: E.164 ("+12155551234") or national ("(215) 555-1234",
"215.555.1234"), shown with its last four digits only, as everywhere else. `configure_logging`
puts it on the root handler as a filter, so it sees every record of every library (their
messages, arguments and tracebacks) before anything is written; the worker runs a delivery's
failure reason through the same scrubber before `last_error` stores it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from bot import phone

if TYPE_CHECKING:
    from bot.config import Settings

REDACTED = "[redacted]"
#: Below this many characters a "secret" is too short to replace without mangling a log line.
MIN_SECRET_LENGTH = 6
#: Slack tokens by their documented prefixes (bot, user, app-level, refresh, config tokens).
_SLACK_TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{8,}")
#: A run of 7 to 15 digits (E.164's most), each apart from the next by at most two of
#: space, ".", "-", "(" or ")", optionally after a "+", and not part of a longer number or a
#: Slack timestamp ("1700000000.000100"): a phone number as people and systems write it,
#: even inside a word ("to+12155551234x"), since missing one costs more than masking an id.
_NUMBER = re.compile(r"(?<![\d.])\+?\d(?:[\s().-]{0,2}\d){6,14}(?!\d|\.\d)")
#: The third-party loggers that write a line per request, SQL statement or parameter set:
#: kept at WARNING even at LOG_LEVEL=DEBUG (aiosqlite and SQLAlchemy's echo log parameters).
#: slack_sdk's Web API client is named as well as its package: it decides whether to format
#: every request and answer for its debug log by its own logger's level, not the effective
#: one, so with that unset each call built two long strings nobody read.
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    "slack_bolt",
    "slack_sdk",
    "slack_sdk.web.async_client",
    "aiohttp.access",
    "aiosqlite",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "psycopg",
    "multipart",
)


class Scrubber:
    """Text with secrets replaced by `[redacted]` and, if asked, phone numbers masked."""

    def __init__(self, secrets: Iterable[str] = (), *, mask_numbers: bool = False) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(
            {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH},
            key=len,
            reverse=True,
        )
        self.mask_numbers = mask_numbers

    @classmethod
    def for_settings(cls, settings: Settings) -> Scrubber:
        """The scrubber for this deployment: its every secret, and `MASK_NUMBERS`."""
        secrets = [
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.qtvoice_api_key,
            settings.qtvoice_webhook_secret,
            settings.slack_app_token,
            settings.metrics_token,
        ]
        values = [secret.get_secret_value() for secret in secrets if secret is not None]
        return cls([*values, *settings.webhook_secrets], mask_numbers=settings.mask_numbers)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _SLACK_TOKEN.sub(REDACTED, text)
        if self.mask_numbers:
            text = _NUMBER.sub(lambda match: phone.mask(match.group()), text)
        return text


class ScrubRecords(logging.Filter):
    """Scrubs a record's message (with its arguments merged in), traceback and stack."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__()
        self.scrub = scrub
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.scrub(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


#: The inbox row a delivery task is working on: every record logged inside it (the worker's,
#: the poster's, a library's) carries it in `LOG_FORMAT=json` as `delivery_id`.
DELIVERY_ID: ContextVar[int | None] = ContextVar("delivery_id", default=None)


class JsonLines(logging.Formatter):
    """`LOG_FORMAT=json`: one JSON object per line: time, level, logger, message, the
    delivery id where there is one (`DELIVERY_ID`), and the traceback if any. The record
    reaches it already scrubbed (`ScrubRecords` runs first)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        delivery = getattr(record, "delivery_id", None) or DELIVERY_ID.get()
        if delivery is not None:
            line["delivery_id"] = delivery
        if record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, scrub: Scrubber, log_format: str = "text") -> None:
    """One stream handler on the root logger, every record through `scrub` before it is written,
    as text or (`log_format="json"`) `JsonLines`.

    Libraries' own handlers are not used (uvicorn is started with `log_config=None`), so
    nothing reaches the output around the scrubber.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLines()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(ScrubRecords(scrub))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
