"""Waiting out what must not happen: long enough for a stray delivery to have arrived."""

from __future__ import annotations

import time

SETTLE_SECONDS = 0.5
"""Long enough for a worker that would post twice, or a Slack event handled after its request
was answered, to have acted; only ever used to prove that nothing more arrives after what was
waited for."""


def settle() -> None:
    time.sleep(SETTLE_SECONDS)
