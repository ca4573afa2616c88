"""What reading numbers out of words costs each voicemail and text the worker renders.

    .venv/bin/python bench/numbers_in_words.py [--texts 2000]

`phone_text.offered` (libphonenumber's `PhoneNumberMatcher`, VALID leniency) runs on every
transcript and inbound text, and `phone_text.masked` on each with `MASK_NUMBERS`. Printed: µs
per call for texts of the shapes the bot sees (a short SMS with no number, a transcript with
one number, a long transcript of 8000 characters with dates and amounts), beside the cost of
rendering the whole voicemail message (it included), so the share it takes is clear.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot import phone_text
from bot.qtvoice.models import Voicemail
from bot.slack.blocks.kit import RenderContext
from bot.slack.blocks.notifications import Caller, Line, voicemail
from bot.slack.buttons import ButtonCodec

SHAPES = {
    "short SMS, no number": "See you at 5, thanks!",
    "transcript, one number": (
        "Hi, it's Jane from Globex. Call me back on my cell, 215 555 0199, before Tuesday."
    ),
    "8000-char transcript, dates and amounts": (
        "On 01/02/2025 we paid $1,250.00 for order 4411 at 10:30, call 267 555 0142. " * 110
    )[:8000],
}


def per_call(work: Callable[[], object], count: int) -> float:
    """µs per call of `work`, best of three runs of `count`."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            work()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000, help="calls per figure")
    args = parser.parse_args()
    ctx = RenderContext(ZoneInfo("UTC"), "US", False, ButtonCodec(b"bench" * 7))
    caller, line = Caller("+12155551234"), Line("+12155550100")
    for name, text in SHAPES.items():
        count = max(1, args.texts // (20 if len(text) > 1000 else 1))
        offered = per_call(lambda text=text: phone_text.offered(text, "US"), count)
        masked = per_call(lambda text=text: phone_text.masked(text, "US"), count)
        message = Voicemail(id="vm", transcription=text)
        render = per_call(lambda message=message: voicemail(message, caller, line, ctx), count)
        print(
            f"{name:42} offered {offered:9.1f} µs · masked {masked:9.1f} µs"
            f" · whole voicemail message (offered included) {render:9.1f} µs"
        )


if __name__ == "__main__":
    main()
