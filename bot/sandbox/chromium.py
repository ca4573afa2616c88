"""Headless Chromium for the demo's pictures and the browser tests: pages as a browser draws them.

Runs Debian's `chromium` (or Google's `chromium`/`google-chrome` on the PATH) with a throwaway
profile and nothing that phones home. `dump_dom` prints the DOM once the page's scripts ran,
`screenshot` writes a PNG of the window, and `DevTools` keeps one browser open and drives it
over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON messages ended by NUL
on the browser's fds 3 and 4; https://chromedevtools.github.io/devtools-protocol/), so a test
can click in a live page with no extra library.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

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


def ensure_chromium() -> str:
    """A Chromium to run: the one on the PATH, else Debian's, installed with apt-get.

    Installs only as root with apt-get present. Raises ChromiumError saying why there is none.
    """
    found = find_chromium()
    if found is not None:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise ChromiumError("no chromium on the PATH, and no apt-get as root to install it")
    for steps in ([["install", "-y", "chromium"]], [["update"], ["install", "-y", "chromium"]]):
        for step in steps:
            subprocess.run([apt, *step], capture_output=True, check=False)  # noqa: S603
        found = find_chromium()
        if found is not None:
            return found
    raise ChromiumError("apt-get install -y chromium did not install a browser")


def _run(binary: str, page: Path | str, *extra: str) -> str:
    """Run Chromium on `page`: a local file, or (a `str`) a URL."""
    address = page if isinstance(page, str) else page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="qtslack-chromium-") as profile:
        try:
            done = subprocess.run(  # noqa: S603 (a browser found on the PATH, our own flags)
                [binary, *FLAGS, f"--user-data-dir={profile}", *extra, address],
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


def dump_dom(binary: str, page: Path | str, *, width: int = 1200, height: int = 900) -> str:
    """The DOM of `page` (a local file or a URL) once loaded and its scripts ran, as HTML."""
    return _run(binary, page, f"--window-size={width},{height}", "--dump-dom")


def screenshot(binary: str, page: Path | str, png: Path, *, width: int, height: int) -> None:
    """A PNG of the top `width` by `height` CSS pixels of `page` (a file or a URL), to `png`.

    Raises ChromiumError when Chromium fails or writes no file.
    """
    png.unlink(missing_ok=True)
    _run(binary, page, f"--window-size={width},{height}", f"--screenshot={png.resolve()}")
    if not png.exists():
        raise ChromiumError(f"{binary} wrote no screenshot of {page}")


def _above_4(fd: int) -> int:
    """`fd` moved to a number above 4 (close-on-exec), so moving the pipe ends to 3 and 4 in
    the browser's process cannot overwrite one with the other."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class DevTools:
    """One headless Chromium kept open and driven over the DevTools protocol on a pipe.

        with DevTools(binary) as browser:
            browser.open("http://127.0.0.1:8000/")
            browser.evaluate("document.title")

    Raises ChromiumError when the browser stops answering within `timeout` seconds or answers
    a command with an error.
    """

    def __init__(
        self, binary: str, *, width: int = 1200, height: int = 900, timeout: float = 30.0
    ) -> None:
        self._timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="qtslack-chromium-")
        commands_in, self._commands = map(_above_4, os.pipe())
        self._answers, answers_out = map(_above_4, os.pipe())

        def on_fds_3_and_4() -> None:
            # The protocol's fixed places: the browser reads fd 3 and writes fd 4.
            os.dup2(commands_in, 3)
            os.dup2(answers_out, 4)

        self._process = subprocess.Popen(  # noqa: S603 (a browser found on the PATH, our own flags)
            [
                binary,
                *FLAGS,
                f"--user-data-dir={self._profile.name}",
                f"--window-size={width},{height}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=on_fds_3_and_4,  # only dup2 runs between fork and exec
        )
        os.close(commands_in)
        os.close(answers_out)
        self._next_id = 0
        self._buffer = b""
        self._session: str | None = None

    def __enter__(self) -> DevTools:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Ask the browser to quit, then make sure it has, and forget its profile."""
        with contextlib.suppress(ChromiumError, OSError):
            self.call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._commands)
        os.close(self._answers)
        self._profile.cleanup()

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one protocol command (to the open page, once there is one) and return its
        result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self._session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self._timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise ChromiumError(f"{method}: {answer['error'].get('message')}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._answers], [], [], max(remaining, 0))
            if not ready:
                raise ChromiumError("the browser did not answer in time")
            chunk = os.read(self._answers, 65536)
            if not chunk:
                raise ChromiumError("the browser quit")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    def open(self, url: str) -> None:
        """Open `url` in a new tab that later calls act on."""
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the open page (promises awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            raise ChromiumError(f"{expression[:60]}: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Evaluate `expression` until it is truthy, and return it; ChromiumError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise ChromiumError(f"still false after {timeout}s: {expression}")
            time.sleep(0.1)
