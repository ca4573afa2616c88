"""Settings: every knob of the contract, read once from the environment and `.env`.

`load_settings()` turns pydantic's validation errors into one plain line per problem, naming the
setting and where to get it, and never echoes a value: a mistyped token must not end up in a log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, PlainValidator, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.hours import DAYS, BusinessHours, WeeklyHours, parse_weekly_hours

SLACK_APP_PAGE = "your Slack app's settings at https://api.slack.com/apps"
QTVOICE_DASHBOARD = "the QTvoice dashboard"

#: What each setting is and where an operator gets it, shown when it is missing or malformed.
SETTING_HELP: dict[str, str] = {
    "SLACK_BOT_TOKEN": f"the Bot User OAuth Token (xoxb-…), from OAuth & Permissions in {SLACK_APP_PAGE}",
    "SLACK_SIGNING_SECRET": f"the Signing Secret, from Basic Information in {SLACK_APP_PAGE}",
    "SLACK_APP_TOKEN": f"an App-Level Token (xapp-…) with connections:write, from Basic Information in {SLACK_APP_PAGE}; leave unset to receive Slack over HTTP",
    "SLACK_API_URL": "the Slack Web API base URL; leave unset for https://slack.com/api/",
    "QTVOICE_API_KEY": f"an API key (qtv_…), from Settings → API Keys in {QTVOICE_DASHBOARD}",
    "QTVOICE_WEBHOOK_SECRET": f"the webhook signing secret (several, comma-separated, while rotating), from Settings → Webhooks in {QTVOICE_DASHBOARD}",
    "QTVOICE_API_URL": "the QTvoice API base URL; leave unset for https://test.qtvoice.com/api/v1",
    "NOTIFY_CHANNEL": "the ID (C…) of the Slack channel that gets every notification no route claims: in Slack, open the channel's details, the ID is at the bottom",
    "DATABASE_URL": "a database URL: sqlite:///qtslack.db, or the postgres:// URL your host gives you",
    "PORT": "the TCP port to listen on (1-65535)",
    "WEB_CONCURRENCY": "how many web processes `serve` runs behind its port (1 or more; more than 1 needs PostgreSQL)",
    "ADMIN_USER_IDS": "comma-separated Slack user IDs (U…) allowed to link others and manage routes: in Slack, a person's profile → ⋮ → Copy member ID",
    "DEFAULT_REGION": "a two-letter region (US, GB, …) for numbers typed without a country code",
    "TIMEZONE": "an IANA time zone such as America/New_York, for times shown in Slack",
    "WEBHOOK_TOLERANCE_SECONDS": "how far (seconds) a webhook's timestamp may be from now",
    "RECONCILE_INTERVAL_SECONDS": "how often (seconds) to poll QTvoice for events its webhooks missed; 0 turns it off",
    "MASK_NUMBERS": "true to show only the last four digits of callers' numbers",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR",
    "SMS_PER_MINUTE": "how many texts one Slack user may send a minute",
    "DELIVERY_MAX_ATTEMPTS": "how many times a notification is tried before it is parked as failed",
    "DELIVERY_RETRY_SECONDS": "the first retry delay (seconds) of a failed notification; later ones double",
    "DELIVERY_LEASE_SECONDS": "how long (seconds) a worker may hold an event, escalation or reminder before another may take it over",
    "ESCALATE_AFTER_MINUTES": "how many open minutes a missed call, voicemail or new text may wait for someone to take it before the thread mentions the line's people; 0 turns escalation off",
    "BUSINESS_HOURS": "opening hours in TIMEZONE like Mon-Fri 08:00-18:00, Sat 09:00-13:00; leave empty for always open",
    "AFTER_HOURS_CHANNEL": "the ID (C…) of the channel that gets what arrives while closed; leave empty to use the usual channels",
    "DIGEST_AT": "the time of day (HH:MM, 24-hour, in TIMEZONE) of the daily digest; leave empty for none",
    "CONTACT_SYNC_MINUTES": "how often (minutes) to copy QTvoice's contact directory; 0 turns it off",
    "UPLOAD_RECORDINGS": "true to post each voicemail's recording as an audio file in its thread (the Slack app then needs the files:write scope)",
    "RECORDING_MAX_MB": "the largest recording (megabytes, 1 or more) uploaded to Slack; a larger one keeps its link",
    "REPLY_MODE": "thread (a linked person's thread reply is texted unless it starts with note:) or explicit (only replies starting with send: are texted)",
    "REPORT_AT": "the weekday and time (in TIMEZONE) of the weekly report, like Mon 09:00; leave empty for none",
    "READY_MAX_LAG_SECONDS": "how old (seconds) the oldest due delivery may be before /readyz says unready",
    "METRICS_TOKEN": "a long random string; /metrics then answers to `Authorization: Bearer <it>` (unset: /metrics is off)",
    "CANARY_CHANNEL": "the ID (C…) of a quiet channel for the canary's test notification; leave empty to turn the canary off",
    "CANARY_MINUTES": "how often (minutes) the canary sends its test notification",
    "RETENTION_DAYS": "how many days caller content (texts, transcripts, numbers, names) is kept",
    "LOG_FORMAT": "text, or json for one JSON object per line",
    "PUBLIC_URL": "the bot's public https:// base URL (Heroku: https://YOUR-APP.herokuapp.com); it fills the manifest and the set-up page, and lets `check` confirm Slack can reach the bot",
}

SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
#: A plain-http base the bot may be reached at on this machine only (the demo, tests).
LOCAL_URL = re.compile(r"^http://(?:localhost|127\.0\.0\.1)(?::\d+)?$")
CommaList = Annotated[list[str], NoDecode]
_CLOCK = re.compile(r"^(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)$")
_WEEKLY = re.compile(r"^(?P<day>[a-z]{3})[a-z]*\s+(?P<clock>\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class WeeklyTime:
    """A moment of every week in `TIMEZONE` (`REPORT_AT`): `weekday` 0 = Monday, and a time."""

    weekday: int
    at: time


def _clock(value: str) -> time:
    match = _CLOCK.match(value)
    if match is None:
        raise ValueError("must be a time of day like 08:30 (24-hour HH:MM)")
    return time(int(match["hour"]), int(match["minute"]))


def parse_weekly_time(value: str) -> WeeklyTime:
    """`Mon 09:00` (any case, day names of three letters or more) → `WeeklyTime`.

    Raises ValueError saying what to write, never echoing the value.
    """
    match = _WEEKLY.match(" ".join(value.split()))
    day = match["day"].lower() if match else ""
    if match is None or day not in DAYS:
        raise ValueError("must be a weekday and a time like Mon 09:00")
    return WeeklyTime(DAYS.index(day), _clock(match["clock"]))


def _weekly_hours(value: Any) -> WeeklyHours:
    if isinstance(value, WeeklyHours):
        return value
    if not isinstance(value, str):
        raise ValueError("must be text like Mon-Fri 08:00-18:00")
    return parse_weekly_hours(value)


#: `BUSINESS_HOURS` is read by our parser, never JSON-decoded as pydantic-settings would a dataclass.
OpeningHours = Annotated[WeeklyHours, NoDecode, PlainValidator(_weekly_hours)]


#: A value copied from a template instead of filled in: a token prefix alone (`xoxb-`), `YOUR_API_KEY`,
#: `changeme`, `<secret>`, `xxxx`, `...`. Matched against the whole stripped value, any case.
PLACEHOLDER = re.compile(
    r"(?:xoxb-|xapp-|qtv_|whsec_)?"
    r"(?:|<[^>]*>|\{[^}]*\}|\[[^\]]*\]|x+|\*+|\.+|…|your[-_ ].*|.*change[-_ ]?me.*"
    r"|.*placeholder.*|replace[-_ ]?me|todo|tbd|fixme)",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    """Whether `value` is a template's stand-in rather than a real token, key or secret."""
    return PLACEHOLDER.fullmatch(value.strip()) is not None


def _real_secret(value: SecretStr) -> SecretStr:
    """Refuse a blank or placeholder secret (each part of a comma list); never echo it."""
    if not value.get_secret_value().strip():
        raise ValueError("is empty")
    if any(is_placeholder(part) for part in _split_commas(value.get_secret_value())):
        raise ValueError("still holds a placeholder from the template, not the real value")
    return value


def _split_commas(value: str) -> list[str]:
    """The non-empty items of a comma-separated setting, stripped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def normalize_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and bare `postgresql://` URLs and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


class DatabaseSettings(BaseSettings):
    """The settings `migrate` needs: just where the database is."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: str = Field(default="sqlite:///qtslack.db", repr=False)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        url = normalize_database_url(value.strip())
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError("only SQLite and PostgreSQL are supported")
        return url


def _public_url(value: Any) -> Any:
    """`PUBLIC_URL` without spaces or a trailing slash; empty is unset. Plain http only for
    this machine (the demo, tests): Slack and QTvoice send to https:// addresses."""
    if isinstance(value, str):
        value = value.strip().rstrip("/")
        if not value:
            return None
        if not value.startswith("https://") and not LOCAL_URL.match(value):
            raise ValueError("must be the https:// address the bot is served at")
        parts = urlsplit(value)
        if parts.username is not None or parts.password is not None:
            # It is printed (`check`, the manifest, the set-up page): it carries no secret.
            raise ValueError("must be the bot's address alone, without a user name or password")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
    return value


class ManifestSettings(BaseSettings):
    """What `manifest` needs besides its arguments: whether the app uploads recordings, and
    `PUBLIC_URL` for the request URLs when neither --url nor --socket-mode is given."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    upload_recordings: bool = False
    public_url: str | None = None

    _public = field_validator("public_url", mode="before")(_public_url)


class WebhookSecretSettings(BaseSettings):
    """What `send-webhook` needs to sign a sample like QTvoice would."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    qtvoice_webhook_secret: SecretStr

    @property
    def webhook_secrets(self) -> list[str]:
        return _split_commas(self.qtvoice_webhook_secret.get_secret_value())


class Settings(DatabaseSettings):
    """Everything `serve` and `worker` need. Secrets are `SecretStr` so they never print."""

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr
    qtvoice_api_key: SecretStr
    #: Optional at deploy: until it is set, webhooks are refused saying so, and the reconcile
    #: poller fetches what they would have brought.
    qtvoice_webhook_secret: SecretStr | None = None
    notify_channel: str
    public_url: str | None = None

    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    qtvoice_api_url: str = "https://test.qtvoice.com/api/v1"
    port: int = Field(default=3000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1)
    admin_user_ids: CommaList = Field(default_factory=list)
    default_region: str = "US"
    timezone: str = "UTC"
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    reconcile_interval_seconds: int = Field(default=300, ge=0)
    mask_numbers: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sms_per_minute: int = Field(default=10, ge=1)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_retry_seconds: float = Field(default=2.0, gt=0)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    delivery_give_way_seconds: float = Field(default=0.25, ge=0, le=60)
    slack_timeout_seconds: float = Field(default=15.0, gt=0)
    escalate_after_minutes: int = Field(default=15, ge=0)
    business_hours: OpeningHours = WeeklyHours()
    after_hours_channel: str | None = None
    digest_at: time | None = None
    contact_sync_minutes: int = Field(default=60, ge=0)
    upload_recordings: bool = False
    recording_max_mb: int = Field(default=20, ge=1, le=1000)
    reply_mode: Literal["thread", "explicit"] = "thread"
    report_at: Annotated[WeeklyTime | None, NoDecode] = None
    ready_max_lag_seconds: int = Field(default=300, ge=1)
    metrics_token: SecretStr | None = None
    canary_channel: str | None = None
    canary_minutes: int = Field(default=60, ge=1)
    retention_days: int = Field(default=30, ge=1)
    log_format: Literal["text", "json"] = "text"

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return _real_secret(value)

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return None if value is None else _real_secret(value)

    @field_validator("slack_signing_secret", "qtvoice_api_key")
    @classmethod
    def _real(cls, value: SecretStr) -> SecretStr:
        return _real_secret(value)

    @field_validator("qtvoice_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return _real_secret(value)

    _public = field_validator("public_url", mode="before")(_public_url)

    @field_validator("notify_channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise PydanticCustomError("missing", "is missing")
        if not SLACK_CHANNEL_ID.match(value):
            raise ValueError("must be a channel ID like C0123ABCD, not a #name")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return _real_secret(value)

    @field_validator("after_hours_channel", "canary_channel", mode="before")
    @classmethod
    def _after_hours_channel(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not SLACK_CHANNEL_ID.match(value):
                raise ValueError("must be a channel ID like C0123ABCD, not a #name")
        return value

    @field_validator("digest_at", mode="before")
    @classmethod
    def _digest_at(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            return _clock(value)
        return value

    @field_validator("report_at", mode="before")
    @classmethod
    def _report_at(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_weekly_time(value) if value.strip() else None
        return value

    @field_validator("reply_mode", mode="before")
    @classmethod
    def _reply_mode(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = _split_commas(value)
        bad = [user for user in value if not SLACK_USER_ID.match(user)]
        if bad:
            raise ValueError("must be Slack user IDs like U0123ABCD")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("is not a known two-letter region")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a known IANA time zone") from None
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slack_url(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("qtvoice_api_url")
    @classmethod
    def _qtvoice_url(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def webhook_secrets(self) -> list[str]:
        """Every secret that may have signed a webhook (several while one is being rotated);
        empty while `QTVOICE_WEBHOOK_SECRET` is unset."""
        if self.qtvoice_webhook_secret is None:
            return []
        return _split_commas(self.qtvoice_webhook_secret.get_secret_value())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hours(self) -> BusinessHours:
        """`BUSINESS_HOURS` in `TIMEZONE`."""
        return BusinessHours(self.business_hours, self.zone)


AnySettings = TypeVar("AnySettings", bound=BaseSettings)


class SettingsError(Exception):
    """Settings that cannot start the bot; `problems` holds one printable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def describe_errors(error: ValidationError) -> list[str]:
    """One line per problem: the setting, what is wrong, and where to get a good value."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else "SETTINGS"
        what = PLAIN_REASONS.get(item["type"], "").format(**item.get("ctx", {}))
        what = what or ("is missing" if item["type"] == "missing" else _reason(item["msg"]))
        problems.append(f"{name} {what}: {SETTING_HELP.get(name, 'see README.md')}")
    return problems


#: pydantic's error types in an operator's words (its own say "Input should be a valid …").
PLAIN_REASONS = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "greater_than_equal": "must be {ge} or more",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be {le} or less",
    "literal_error": "must be one of {expected}",
}


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ")


def load_settings(cls: type[AnySettings] = Settings, **overrides: Any) -> AnySettings:  # type: ignore[assignment]
    """Read settings from the environment and `.env`, raising `SettingsError` on any problem."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from None
