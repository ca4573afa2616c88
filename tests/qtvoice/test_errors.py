"""`QTvoiceError` carries QTvoice's answer and reads well in a log line."""

from __future__ import annotations

import pytest

from bot.qtvoice.errors import QTvoiceError, code_for_status


def test_str_is_one_short_line_with_status_code_and_message() -> None:
    error = QTvoiceError(404, "NOT_FOUND", "Call not found")

    assert str(error) == "QTvoice 404 NOT_FOUND: Call not found"


def test_attributes_carry_the_answer() -> None:
    error = QTvoiceError(429, "RATE_LIMITED", "Rate limit exceeded", retry_after=12.0)

    assert (error.status, error.code, error.message) == (429, "RATE_LIMITED", "Rate limit exceeded")
    assert error.retry_after == 12.0
    assert error.outcome_unknown is False


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (404, "NOT_FOUND"),
        (429, "RATE_LIMITED"),
        (500, "SERVER_ERROR"),
        (502, "SERVER_ERROR"),
        (503, "SERVER_ERROR"),
    ],
)
def test_documented_code_stands_in_when_qtvoice_names_none(status: int, code: str) -> None:
    assert code_for_status(status) == code


def test_undocumented_client_error_gets_a_code_naming_its_status() -> None:
    assert code_for_status(409) == "HTTP_409"


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (404, False), (429, True), (503, True)]
)
def test_rate_limits_and_outages_are_retryable(status: int, retryable: bool) -> None:
    assert QTvoiceError(status, code_for_status(status), "x").is_retryable is retryable
