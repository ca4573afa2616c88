"""`QTvoiceError`: every way a QTvoice request can fail, as one exception with a meaning.

A non-2xx answer carries QTvoice's own status and `{"error", "code"}` body. Failures that
never produced an answer are given a status too, so callers handle one kind of error:

- a timeout is 504 `TIMEOUT`, any other network failure 503 `UNAVAILABLE`;
- a background request refused locally to save the hourly budget for people is 429
  `BUDGET_RESERVED` (no request was sent);
- a 2xx answer whose body is not the documented shape is 502 `BAD_RESPONSE`.

`outcome_unknown` is set when a request that changes something (sending a text, placing a
call) failed in a way that leaves open whether QTvoice acted on it; the user must be told to
check rather than simply to try again, or they may text a customer twice.
"""

from __future__ import annotations

TIMEOUT = "TIMEOUT"
UNAVAILABLE = "UNAVAILABLE"
BUDGET_RESERVED = "BUDGET_RESERVED"
BAD_RESPONSE = "BAD_RESPONSE"
#: A recording larger than the bot may upload (`RECORDING_MAX_MB`), or at a link outside QTvoice.
TOO_LARGE = "TOO_LARGE"
NOT_QTVOICE = "NOT_QTVOICE"

DOCUMENTED_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "RATE_LIMITED",
    500: "SERVER_ERROR",
}


def code_for_status(status: int) -> str:
    """The documented code for a status, for answers whose body does not name one."""
    if status in DOCUMENTED_CODES:
        return DOCUMENTED_CODES[status]
    if status >= 500:
        return DOCUMENTED_CODES[500]
    return f"HTTP_{status}"


class QTvoiceError(Exception):
    """A QTvoice request that did not succeed.

    `str()` is a short line for logs, never containing the API key; what a Slack user is told
    is `bot.slack.sentences.qtvoice_sentence`.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"QTvoice {self.status} {self.code}: {self.message}"

    @property
    def is_retryable(self) -> bool:
        """Whether the same request may succeed later (rate limits, outages, timeouts)."""
        return self.status == 429 or self.status >= 500
