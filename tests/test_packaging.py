"""What Heroku installs (requirements.txt) stays within what pyproject.toml declares."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import Settings
from bot.setup_page import new_app_link

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[canonicalize_name(name)] = version.strip()
    return pinned


def test_every_dependency_is_pinned_within_its_range() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = pins()
    for spec in declared:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is in pyproject.toml but not requirements.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} vs {spec}"


def test_requirements_install_the_project_itself() -> None:
    lines = (ROOT / "requirements.txt").read_text().split()
    assert lines[-1] == "."


def procfile() -> dict[str, str]:
    return dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)


def test_procfile_checks_settings_and_migrates_on_release_and_runs_web_and_worker() -> None:
    processes = procfile()
    assert processes["release"].strip() == "python -m bot check --settings && python -m bot migrate"
    assert "serve" in processes["web"]
    assert "$PORT" in processes["web"]
    assert processes["worker"].strip() == "python -m bot worker"


def deploy_form(tmp_path: Path, **typed: str) -> dict[str, str]:
    """The environment Heroku's Deploy form gives the release phase: app.json's defaults (a
    generated secret where it generates one, empty where it has none), real-looking values
    for the required settings, then `typed`; Postgres stands in as a SQLite file."""
    app = json.loads((ROOT / "app.json").read_text())
    env = {
        name: secrets.token_hex(16) if "generator" in spec else spec.get("value", "")
        for name, spec in app["env"].items()
    }
    return env | {
        "SLACK_BOT_TOKEN": "xoxb-1234-5678-abcdef",
        "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
        "QTVOICE_API_KEY": "qtv_9a1158154dfa42ca",
        "NOTIFY_CHANNEL": "C0123ABCD",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'heroku.db'}",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **typed,
    }


def release_phase(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The Procfile's release command, run by a shell as Heroku runs it."""
    return subprocess.run(
        ["bash", "-c", procfile()["release"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_release_phase_passes_the_deploy_forms_defaults_and_migrates(tmp_path: Path) -> None:
    released = release_phase(deploy_form(tmp_path), tmp_path)

    assert released.returncode == 0, released.stdout + released.stderr
    assert released.stdout.startswith("ok    settings: ")
    assert "is at the latest schema" in released.stdout


def test_a_mistyped_setting_fails_the_release_phase_naming_it_before_migrating(
    tmp_path: Path,
) -> None:
    env = deploy_form(tmp_path, NOTIFY_CHANNEL="#general", TIMEZONE="America/NewYork")

    released = release_phase(env, tmp_path)

    assert released.returncode == 1
    assert [line.split(" must ")[0].split(" is ")[0] for line in released.stdout.splitlines()] == [
        "FAIL  settings: NOTIFY_CHANNEL",
        "FAIL  settings: TIMEZONE",
    ]
    assert not (tmp_path / "heroku.db").exists()


def test_app_json_asks_for_every_required_setting() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    required = {name for name, spec in app["env"].items() if spec.get("required")}
    assert required == {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "QTVOICE_API_KEY",
        "NOTIFY_CHANNEL",
    }
    assert not any("generator" in app["env"][name] for name in required)
    assert any(addon["plan"].startswith("heroku-postgresql") for addon in app["addons"])
    assert set(app["formation"]) == {"web", "worker"}


#: Settings whose defaults suit every deployment: tuning, and stand-ins for tests and the demo.
#: The Heroku form does not ask for them (they can still be set later, as config vars).
#: A new setting must be added here or to app.json: the test below says which.
DEVELOPER_DEFAULTS = {
    "DATABASE_URL",  # Heroku sets it from the Postgres add-on
    "PORT",  # Heroku sets it
    "WEB_CONCURRENCY",  # Heroku's Python buildpack sets it by dyno size
    "SLACK_API_URL",
    "QTVOICE_API_URL",
    "WEBHOOK_TOLERANCE_SECONDS",
    "RECONCILE_INTERVAL_SECONDS",
    "LOG_LEVEL",
    "SMS_PER_MINUTE",
    "DELIVERY_MAX_ATTEMPTS",
    "DELIVERY_RETRY_SECONDS",
    "DELIVERY_LEASE_SECONDS",
    "DELIVERY_GIVE_WAY_SECONDS",
    "SLACK_TIMEOUT_SECONDS",
    "CONTACT_SYNC_MINUTES",
    "RECORDING_MAX_MB",
    "READY_MAX_LAG_SECONDS",
    "CANARY_MINUTES",
    "LOG_FORMAT",
}


def every_setting() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_app_json_asks_only_what_an_operator_must_decide() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    assert set(app["env"]) == every_setting() - DEVELOPER_DEFAULTS
    assert all(spec["description"] for spec in app["env"].values())


def test_settings_the_form_leaves_out_have_defaults() -> None:
    assert every_setting() >= DEVELOPER_DEFAULTS
    for name in DEVELOPER_DEFAULTS:
        assert not Settings.model_fields[name.lower()].is_required(), name


def test_env_example_names_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    named = {line.lstrip("# ").split("=")[0] for line in lines if "=" in line}
    assert every_setting() <= named


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert every_setting() <= documented


def test_after_the_deploy_button_heroku_opens_the_set_up_page() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    readme = (ROOT / "README.md").read_text()

    assert app["success_url"] == "/"
    assert app["logo"].endswith("/docs/logo.svg")
    assert (ROOT / "docs" / "logo.svg").read_text().startswith("<svg")
    assert f"https://www.heroku.com/deploy?template={app['repository']})" in readme


def test_the_committed_manifest_is_what_manifest_prints() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", "--socket-mode"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert (ROOT / "manifest.json").read_text() == printed


def test_the_readmes_create_the_slack_app_link_carries_that_manifest() -> None:
    readme = (ROOT / "README.md").read_text()
    manifest = json.loads((ROOT / "manifest.json").read_text())

    assert f"\n[create-app]: {new_app_link(manifest)}\n" in readme


def test_license_is_the_mit_licence_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
