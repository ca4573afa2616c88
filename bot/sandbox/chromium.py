"""Headless Chromium for the demo's pictures and the browser test: the page as a browser draws it.

Runs Debian's `chromium` (or Google's `chromium`/`google-chrome` on the PATH) once per call,
with a throwaway profile and nothing that phones home, and either prints the DOM after the
page's scripts ran (`dump_dom`) or writes a PNG of the window (`screenshot`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
TIMEOUT_SECONDS = 60.0


class ChromiumError(RuntimeError):
    """Chromium is missing, failed, or wrote nothing; the message says which."""


def find_chromium() -> str | None:
    """The path of the first Chromium on the PATH, or None."""
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


def _run(binary: str, page: Path, *extra: str) -> str:
    with tempfile.TemporaryDirectory(prefix="qtslack-chromium-") as profile:
        try:
            done = subprocess.run(  # noqa: S603 (a browser found on the PATH, our own flags)
                [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ChromiumError(f"{binary} did not run: {error}") from None
    if done.returncode != 0:
        raise ChromiumError(f"{binary} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def dump_dom(binary: str, page: Path, *, width: int = 1200, height: int = 900) -> str:
    """The DOM of `page` (a local file) once loaded and its scripts ran, as HTML text."""
    return _run(binary, page, f"--window-size={width},{height}", "--dump-dom")


def screenshot(binary: str, page: Path, png: Path, *, width: int, height: int) -> None:
    """A PNG of the top `width` by `height` CSS pixels of `page`, written to `png`.

    Raises ChromiumError when Chromium fails or writes no file.
    """
    png.unlink(missing_ok=True)
    _run(binary, page, f"--window-size={width},{height}", f"--screenshot={png.resolve()}")
    if not png.exists():
        raise ChromiumError(f"{binary} wrote no screenshot of {page}")
