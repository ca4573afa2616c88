"""The Makefile picks a Python the project runs on, as a newcomer's machine would offer them.

Each test copies the Makefile into an empty directory and runs `make` with a PATH holding only
stand-in interpreters: small scripts that answer the version check (exit 0: 3.11 or newer)
the way a real Python, an old one or a pyenv shim for an inactive version would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")

#: Stand-ins: what each answers to `python -c '<version check>'` and to `python --version`.
GOOD = "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.12.1'\nexit 0\n"
OLD = "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.10.13'\nexit 1\n"
SHIM = "#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n"


def project(tmp_path: Path, interpreters: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A directory with the Makefile and pyproject.toml, and an environment whose PATH offers
    only `make` and the given stand-in interpreters."""
    work = tmp_path / "clone"
    work.mkdir()
    shutil.copy(ROOT / "Makefile", work)
    shutil.copy(ROOT / "pyproject.toml", work)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    assert MAKE is not None
    (bin_dir / "make").symlink_to(MAKE)
    for name, script in interpreters.items():
        write_script(bin_dir / name, script)
    return work, {"PATH": str(bin_dir), "HOME": str(tmp_path)}


def write_script(path: Path, script: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(0o755)


def make(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run(
        [MAKE, *args], cwd=work, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_with_no_python_311_or_newer_make_says_so_and_fails(tmp_path: Path) -> None:
    work, env = project(tmp_path, {"python3": OLD, "python3.13": SHIM})

    result = make(work, env, "demo")

    assert result.returncode != 0
    assert "needs Python 3.11 or newer" in result.stderr
    assert "python3.13 python3.12 python3.11 python3 are missing or older" in result.stderr
    assert "make PYTHON=/path/to/python3.11 demo" in result.stderr
    assert not (work / ".venv").exists()


def test_a_python_given_by_name_that_is_too_old_is_named(tmp_path: Path) -> None:
    work, env = project(tmp_path, {"python3.10": OLD})

    result = make(work, env, "PYTHON=python3.10", "test")

    assert result.returncode != 0
    assert "python3.10 is Python 3.10.13" in result.stderr


def test_the_newest_working_python_is_picked_past_shims_and_old_ones(tmp_path: Path) -> None:
    work, env = project(
        tmp_path, {"python3.13": SHIM, "python3.12": GOOD, "python3.11": GOOD, "python3": OLD}
    )

    result = make(work, env, "--dry-run", ".venv/.installed")

    assert result.returncode == 0, result.stderr
    assert "python3.12 -m venv .venv" in result.stdout


@pytest.mark.parametrize(("venv_python", "rebuilt"), [(OLD, True), (GOOD, False)])
def test_a_venv_made_by_an_old_python_is_rebuilt(
    tmp_path: Path, venv_python: str, rebuilt: bool
) -> None:
    work, env = project(tmp_path, {"python3.12": GOOD})
    write_script(work / ".venv" / "bin" / "python", venv_python)
    stamp = work / ".venv" / ".installed"
    stamp.touch()
    later = (work / "pyproject.toml").stat().st_mtime + 10
    os.utime(stamp, (later, later))

    result = make(work, env, "--question", ".venv/.installed")

    assert result.returncode == (1 if rebuilt else 0), result.stderr


def test_make_alone_lists_every_target_with_what_it_does(tmp_path: Path) -> None:
    work, env = project(tmp_path, {"python3": GOOD})
    env["PATH"] = f"{env['PATH']}:{os.environ['PATH']}"

    listed = make(work, env)

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "make TARGET, where TARGET is one of:"
    described = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:]}
    for target in ("demo", "test", "serve", "worker", "migrate", "check", "manifest", "lint"):
        assert described.get(target), target
    assert "emoji font" in described["screenshots"]
    assert not (work / ".venv").exists()


def test_screenshots_refuse_to_draw_without_an_emoji_font(tmp_path: Path) -> None:
    import sys

    fonts = tmp_path / "fonts"
    write_script(fonts / "fc-list", "#!/bin/sh\nexit 0\n")  # fontconfig knows no such font
    env = {"PATH": f"{fonts}:{os.environ['PATH']}", "HOME": str(tmp_path)}

    drawn = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), str(tmp_path / "shots")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert drawn.returncode == 1
    assert "fonts-noto-color-emoji" in drawn.stderr
    assert not (tmp_path / "shots").exists()
