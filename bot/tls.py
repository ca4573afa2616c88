"""One TLS client context per process, shared by every HTTP client the bot makes.

httpx builds a new `ssl.SSLContext` for each client and loads certifi's CA bundle into it:
about 20 ms of CPU a client, paid by every runtime, check and upload that opens one. The
context holds no connection state (each connection gets its own `SSLSocket`), so one serves
every client and thread (Python's `ssl` docs: contexts may be shared).
"""

from __future__ import annotations

import functools
import ssl

import certifi


@functools.cache
def client_context() -> ssl.SSLContext:
    """The verifying context httpx would build (certifi's CA bundle, hostname checked)."""
    return ssl.create_default_context(cafile=certifi.where())
