"""What Heroku installs (requirements.txt) stays within what pyproject.toml declares."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import Settings

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
        "QTVOICE_WEBHOOK_SECRET",
        "NOTIFY_CHANNEL",
    }
    assert not any("generator" in app["env"][name] for name in required)
    assert any(addon["plan"].startswith("heroku-postgresql") for addon in app["addons"])
    assert set(app["formation"]) == {"web", "worker"}


def test_app_json_describes_every_setting_heroku_does_not_set_itself() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    settings = {name.upper() for name in Settings.model_fields}
    assert set(app["env"]) == settings - {"DATABASE_URL", "PORT"}
    assert all(spec["description"] for spec in app["env"].values())


def test_env_example_names_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    named = {line.lstrip("# ").split("=")[0] for line in lines if "=" in line}
    assert {name.upper() for name in Settings.model_fields} <= named
