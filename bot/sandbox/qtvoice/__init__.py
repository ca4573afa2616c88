"""A local QTvoice: the documented REST API over real HTTP, plus signed webhooks.

The demo and every bot test point the bot's real QTvoice client at this server instead of
https://test.qtvoice.com, so what is exercised is the bot's HTTP code itself. It speaks the
API exactly as the QTvoice doc describes it (paths under `/api/v1`, `Bearer` or `ApiKey`
auth, `{"data", "pagination"}` lists, `{"error", "code"}` errors, hourly rate-limit headers)
and fills the doc's gaps the way the shared domain spec decides.

Tests steer it through `QTvoiceState`: seed or add data, shrink the rate limit, make the next
request fail or every matching request slow, and read back every request the bot made.

    with QTvoiceSandbox() as qtvoice:
        qtvoice.state.fail_next("POST", "/sms", 500)
        ...  # point the bot at qtvoice.url with key qtvoice.api_key
        assert qtvoice.state.requests("POST", "/sms")

Where each part lives:

- `account`: the API prefix, the keys, the office's phone numbers and its seeded history.
- `state`: `QTvoiceState`, the data and test controls behind one lock, and the records
  (`RecordedRequest`, `WebhookDelivery`) tests read back.
- `limits`: hourly rate-limit budgets, injected faults and delays.
- `api`: `QTvoiceApi`, the Starlette app, its request gate and each endpoint's handler.
- `queries`: reading query parameters and body fields, phone numbers, filters and pages.
- `errors`: the doc's error table, `ApiError` and the error response.
- `webhooks`: `send_webhook` and the `sms.sent` / `sms.delivered` reports on a sent text.
- `sandbox`: `QTvoiceSandbox`, the API on a free loopback port.
"""

from __future__ import annotations

from bot.sandbox.qtvoice.account import (
    ALICE_LINE,
    API_PREFIX,
    BOB_LINE,
    DEFAULT_API_KEY,
    DEFAULT_READ_ONLY_KEY,
    JANE_ROE,
    JOHN_DOE,
    JOHN_SMITH,
    STRANGER,
)
from bot.sandbox.qtvoice.api import (
    CALL_STATUSES,
    MAX_SMS_LENGTH,
    RECENT_CALLS_IN_LOOKUP,
    WRITE_METHODS,
    ApiRequest,
    QTvoiceApi,
)
from bot.sandbox.qtvoice.errors import ERRORS, ApiError, error_response
from bot.sandbox.qtvoice.limits import DEFAULT_RATE_LIMIT, RATE_WINDOW_SECONDS, RateStatus
from bot.sandbox.qtvoice.queries import (
    CONTACT_FIELDS,
    DEFAULT_PAGE_SIZE,
    DIRECTIONS,
    E164,
    MAX_PAGE_SIZE,
    only_digits,
    phone_digits,
)
from bot.sandbox.qtvoice.sandbox import QTvoiceSandbox
from bot.sandbox.qtvoice.state import QTvoiceState, RecordedRequest, SandboxData, WebhookDelivery
from bot.sandbox.qtvoice.webhooks import WEBHOOK_TIMEOUT_SECONDS, send_webhook

__all__ = [
    "ALICE_LINE",
    "API_PREFIX",
    "BOB_LINE",
    "CALL_STATUSES",
    "CONTACT_FIELDS",
    "DEFAULT_API_KEY",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_READ_ONLY_KEY",
    "DIRECTIONS",
    "E164",
    "ERRORS",
    "JANE_ROE",
    "JOHN_DOE",
    "JOHN_SMITH",
    "MAX_PAGE_SIZE",
    "MAX_SMS_LENGTH",
    "RATE_WINDOW_SECONDS",
    "RECENT_CALLS_IN_LOOKUP",
    "STRANGER",
    "WEBHOOK_TIMEOUT_SECONDS",
    "WRITE_METHODS",
    "ApiError",
    "ApiRequest",
    "QTvoiceApi",
    "QTvoiceSandbox",
    "QTvoiceState",
    "RateStatus",
    "RecordedRequest",
    "SandboxData",
    "WebhookDelivery",
    "error_response",
    "only_digits",
    "phone_digits",
    "send_webhook",
]
