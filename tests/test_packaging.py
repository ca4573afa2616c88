"""What Heroku installs (requirements.txt) stays within what pyproject.toml declares."""

from __future__ import annotations

import json
import re
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


def test_procfile_migrates_on_release_and_runs_web_and_worker() -> None:
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert processes["release"].strip() == "python -m bot migrate"
    assert "serve" in processes["web"]
    assert "$PORT" in processes["web"]
    assert processes["worker"].strip() == "python -m bot worker"


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
