"""Settings: read from the environment, refused with one plain line per problem, never echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.config import SETTING_HELP, Settings, SettingsError, load_settings

REQUIRED = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "QTVOICE_API_KEY",
    "NOTIFY_CHANNEL",
)
GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-secret-token-value",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "QTVOICE_API_KEY": "qtv_api_key_value",
    "QTVOICE_WEBHOOK_SECRET": "whsec_new,whsec_old",
    "NOTIFY_CHANNEL": "C0123ABCD",
}


def run_bot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_with_empty_environment_exits_2_naming_each_missing_setting(tmp_path: Path) -> None:
    result = run_bot("serve", env={}, cwd=tmp_path)

    assert result.returncode == 2
    for name in REQUIRED:
        assert f"{name} is missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    # Optional at deploy: until it is set webhooks are refused saying why, and the poller covers.
    assert "QTVOICE_WEBHOOK_SECRET" not in result.stderr


def test_settings_errors_are_in_plain_words(tmp_path: Path) -> None:
    env = {
        **GOOD,
        "NOTIFY_CHANNEL": "",
        "PORT": "3000.5",
        "SMS_PER_MINUTE": "0",
        "MASK_NUMBERS": "maybe",
        "PUBLIC_URL": "http://bot.example.com",
    }

    result = run_bot("serve", env=env, cwd=tmp_path)

    assert result.returncode == 2
    lines = {line.split()[0]: line.strip() for line in result.stderr.strip().splitlines()[1:]}
    assert lines["NOTIFY_CHANNEL"].startswith("NOTIFY_CHANNEL is missing: the ID (C…)")
    assert lines["PORT"].startswith("PORT must be a whole number:")
    assert lines["SMS_PER_MINUTE"].startswith("SMS_PER_MINUTE must be 1 or more:")
    assert lines["MASK_NUMBERS"].startswith("MASK_NUMBERS must be true or false:")
    assert lines["PUBLIC_URL"].startswith("PUBLIC_URL must be the https:// address")
    assert "Input should" not in result.stderr


@pytest.mark.parametrize(
    ("public_url", "says"),
    [
        (
            "https://user:s3cr3t-pass@bot.example.com",
            "must be the bot's address alone, without a user",
        ),
        ("https://bot.example.com:99999", "has a port that is not a number from 1 to 65535"),
    ],
)
def test_a_public_url_with_a_password_or_an_impossible_port_is_refused(
    tmp_path: Path, public_url: str, says: str
) -> None:
    result = run_bot("serve", env={**GOOD, "PUBLIC_URL": public_url}, cwd=tmp_path)

    assert result.returncode == 2
    assert f"PUBLIC_URL {says}" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_malformed_settings_are_named_without_echoing_values(tmp_path: Path) -> None:
    env = {
        **GOOD,
        "SLACK_BOT_TOKEN": "xoxp-user-token-not-bot",
        "NOTIFY_CHANNEL": "#general",
        "PORT": "http",
    }

    result = run_bot("serve", env=env, cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()[1:]
    assert [line.split()[0] for line in lines] == ["SLACK_BOT_TOKEN", "NOTIFY_CHANNEL", "PORT"]
    assert "xoxp-user-token-not-bot" not in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_come_from_a_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("".join(f"{key}={value}\n" for key, value in GOOD.items()))
    monkeypatch.chdir(tmp_path)
    for key in GOOD:
        monkeypatch.delenv(key, raising=False)

    settings = load_settings(Settings)

    assert settings.notify_channel == "C0123ABCD"
    assert settings.webhook_secrets == ["whsec_new", "whsec_old"]


def test_secrets_never_show_in_repr() -> None:
    settings = Settings(_env_file=None, **{key.lower(): value for key, value in GOOD.items()})
    shown = repr(settings) + str(settings)
    for secret in (
        "xoxb-1-secret-token-value",
        "signing-secret-value",
        "qtv_api_key_value",
        "whsec_new",
    ):
        assert secret not in shown


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@host:5432/db", "postgresql+psycopg://u:p@host:5432/db"),
        ("postgresql://u@host/db", "postgresql+psycopg://u@host/db"),
        ("sqlite:///qtslack.db", "sqlite:///qtslack.db"),
    ],
)
def test_heroku_database_urls_work_unchanged(given: str, expected: str) -> None:
    settings = Settings(
        _env_file=None, database_url=given, **{key.lower(): value for key, value in GOOD.items()}
    )
    assert settings.database_url == expected


def test_admin_ids_are_a_comma_list() -> None:
    settings = Settings(
        _env_file=None, admin_user_ids="U1AAA, U2BBB", **{k.lower(): v for k, v in GOOD.items()}
    )
    assert settings.admin_user_ids == ["U1AAA", "U2BBB"]


def test_bad_timezone_and_region_are_refused() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(
            Settings,
            _env_file=None,
            timezone="Mars/Olympus",
            default_region="ZZ",
            **{k.lower(): v for k, v in GOOD.items()},
        )
    names = [problem.split()[0] for problem in refused.value.problems]
    assert names == ["DEFAULT_REGION", "TIMEZONE"]


def test_the_clock_settings_are_read_into_typed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        **GOOD,
        "BUSINESS_HOURS": "Mon-Fri 08:00-18:00, Sat 09:00-13:00",
        "AFTER_HOURS_CHANNEL": "C0NIGHT",
        "DIGEST_AT": "7:30",
        "ESCALATE_AFTER_MINUTES": "0",
        "CONTACT_SYNC_MINUTES": "30",
    }.items():
        monkeypatch.setenv(key, value)

    settings = load_settings(Settings, _env_file=None)

    assert settings.business_hours.windows[5] == ((540, 780),)
    assert settings.after_hours_channel == "C0NIGHT"
    assert settings.digest_at == time(7, 30)
    assert (settings.escalate_after_minutes, settings.contact_sync_minutes) == (0, 30)


def test_the_clock_settings_default_to_always_open_and_no_digest() -> None:
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in GOOD.items()})

    assert settings.business_hours.always_open
    assert (settings.after_hours_channel, settings.digest_at) == (None, None)
    assert (settings.escalate_after_minutes, settings.contact_sync_minutes) == (15, 60)


def test_malformed_clock_settings_stop_start_up_with_one_line_each(tmp_path: Path) -> None:
    env = {
        **GOOD,
        "BUSINESS_HOURS": "Mon-Fri 8 to 6",
        "AFTER_HOURS_CHANNEL": "#night",
        "DIGEST_AT": "25:00",
        "ESCALATE_AFTER_MINUTES": "-5",
    }

    result = run_bot("serve", env=env, cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()[1:]
    assert sorted(line.split()[0] for line in lines) == [
        "AFTER_HOURS_CHANNEL",
        "BUSINESS_HOURS",
        "DIGEST_AT",
        "ESCALATE_AFTER_MINUTES",
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-"),
        ("SLACK_BOT_TOKEN", "xoxb-your-bot-token"),
        ("SLACK_SIGNING_SECRET", "changeme"),
        ("QTVOICE_API_KEY", "YOUR_API_KEY"),
        ("QTVOICE_API_KEY", "qtv_xxxxxxxx"),
        ("QTVOICE_WEBHOOK_SECRET", "whsec_real_one,<old secret>"),
        ("SLACK_APP_TOKEN", "xapp-"),
    ],
)
def test_a_placeholder_left_from_the_template_is_named_without_echoing_it(
    name: str, value: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(
            Settings, _env_file=None, **{k.lower(): v for k, v in (GOOD | {name: value}).items()}
        )

    assert refused.value.problems == [
        f"{name} still holds a placeholder from the template, not the real value: "
        + SETTING_HELP[name]
    ]
