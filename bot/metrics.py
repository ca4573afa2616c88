"""The process's Prometheus metrics, named as the contract's "Running it as a service" fixes.

Counters and histograms count what this process did. `serve` with several web processes
(`WEB_CONCURRENCY`) runs prometheus_client's multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` is
set before this module is first imported (see `prepare_multiprocess`), each process writes
its values to files there, and `exposition` merges them, so a scrape of the port sees the
whole `serve` whichever process answers. The figures read from the database (pending
deliveries, the canary's last success) are the deployment's and are added at scrape time.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Seconds: from a webhook's 200 to its message in Slack is well under a second when all is
#: well, and minutes through a Slack outage or a rate-limited channel.
DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
#: Seconds: people take a call or call back within minutes to hours.
FOLLOWUP_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200)

WEBHOOKS = Counter("qtslack_webhooks", "QTvoice webhooks by outcome", ["outcome"])
DELIVERIES = Counter("qtslack_deliveries", "Delivery attempts by outcome", ["outcome"])
DELIVERY_SECONDS = Histogram(
    "qtslack_delivery_seconds", "From accepted to in Slack", buckets=DELIVERY_BUCKETS
)
SLACK_CALLS = Counter(
    "qtslack_slack_calls", "Slack Web API calls by method and outcome", ["method", "outcome"]
)
QTVOICE_CALLS = Counter("qtslack_qtvoice_calls", "QTvoice API requests by outcome", ["outcome"])
QTVOICE_RATELIMIT_REMAINING = Gauge(
    "qtslack_qtvoice_ratelimit_remaining",
    "QTvoice's X-RateLimit-Remaining at the last answer",
    multiprocess_mode="mostrecent",
)
TIME_TO_TAKE = Histogram(
    "qtslack_time_to_take_seconds",
    "From arrival to I'll take it",
    ["kind"],
    buckets=FOLLOWUP_BUCKETS,
)
TIME_TO_CALLBACK = Histogram(
    "qtslack_time_to_callback_seconds",
    "From arrival to the first call back from Slack",
    ["kind"],
    buckets=FOLLOWUP_BUCKETS,
)
SOCKET_MODE_CONNECTED = Gauge(
    "qtslack_socket_mode_connected",
    "1 while a Socket Mode connection is open",
    multiprocess_mode="max",
)

#: The outcomes of `qtslack_deliveries_total`.
DELIVERED, RETRIED, FAILED = "delivered", "retried", "failed"


def prepare_multiprocess(processes: int) -> None:
    """Before the first import of this module in a `serve` of several processes: give them a
    fresh shared directory for their values (unless the operator named one)."""
    if processes > 1 and not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="qtslack-metrics-")


def exposition(deployment: Mapping[str, float | None]) -> bytes:
    """The text format: this process's (or every `serve` process's) metrics, then the
    deployment's gauges (`name → value`; None leaves one out)."""
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        text = generate_latest(merged)
    else:
        text = generate_latest(REGISTRY)
    figures = CollectorRegistry()
    for name, value in deployment.items():
        if value is not None:
            Gauge(name, name.removeprefix("qtslack_").replace("_", " "), registry=figures).set(
                value
            )
    return text + generate_latest(figures)


def observe_delivery(received_at_unix: float) -> None:
    """One delivery done: counted, with its time since the webhook was accepted."""
    DELIVERIES.labels(DELIVERED).inc()
    DELIVERY_SECONDS.observe(max(0.0, time.time() - received_at_unix))


#: Slack's answers that mean the bot token itself is refused (not one call's trouble).
TOKEN_REFUSALS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})


class MeteredSlackClient(AsyncWebClient):
    """slack_sdk's client, counting every Web API call by method and outcome
    (`ok`, `rate_limited`, `error`). Every method of the client goes through `api_call`.

    It also remembers whether Slack refused the bot token at the last call (`token_refused`,
    Slack's error code), so `/readyz` knows at once, not only at its next `auth.test`.
    """

    token_refused: str | None = None

    async def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            response = await super().api_call(api_method, *args, **kwargs)
        except SlackApiError as error:
            status = getattr(error.response, "status_code", None)
            SLACK_CALLS.labels(api_method, "rate_limited" if status == 429 else "error").inc()
            # A body slack_sdk could not parse leaves aiohttp's own response here, with no data.
            data = getattr(error.response, "data", None)
            code = data.get("error") if isinstance(data, dict) else None
            if code in TOKEN_REFUSALS:
                self.token_refused = str(code)
            raise
        except Exception:
            SLACK_CALLS.labels(api_method, "error").inc()
            raise
        SLACK_CALLS.labels(api_method, "ok").inc()
        self.token_refused = None
        return response
