"""`QTvoiceError` reads well in a log line and better in Slack."""

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


def test_user_message_for_rejected_key_asks_for_an_admin() -> None:
    message = QTvoiceError(401, "UNAUTHORIZED", "Invalid API key").user_message

    assert "API key" in message
    assert "admin" in message


def test_user_message_for_missing_permission_names_permission() -> None:
    assert "permission" in QTvoiceError(403, "FORBIDDEN", "nope").user_message


def test_user_message_for_not_found_says_so() -> None:
    assert "couldn't find" in QTvoiceError(404, "NOT_FOUND", "Call not found").user_message


def test_user_message_for_rate_limit_says_try_again_in_a_minute() -> None:
    assert "try again in a minute" in QTvoiceError(429, "RATE_LIMITED", "x").user_message


@pytest.mark.parametrize(
    ("status", "code"), [(500, "SERVER_ERROR"), (503, "UNAVAILABLE"), (504, "TIMEOUT")]
)
def test_user_message_for_outages_and_timeouts_says_try_again_shortly(
    status: int, code: str
) -> None:
    assert "try again shortly" in QTvoiceError(status, code, "x").user_message


def test_user_message_for_bad_request_quotes_qtvoice_reason() -> None:
    error = QTvoiceError(400, "BAD_REQUEST", "to must be an E.164 phone number")

    assert error.user_message == (
        "QTvoice couldn't accept that request: to must be an E.164 phone number."
    )


def test_user_message_when_outcome_unknown_says_check_before_retrying() -> None:
    error = QTvoiceError(500, "SERVER_ERROR", "x", outcome_unknown=True)

    assert "check before trying again" in error.user_message


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503, 504, 409])
def test_user_message_is_one_sentence(status: int) -> None:
    message = QTvoiceError(status, code_for_status(status), "Something odd").user_message

    assert message.endswith(".")
    assert message.count(". ") == 0


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (404, False), (429, True), (503, True)]
)
def test_rate_limits_and_outages_are_retryable(status: int, retryable: bool) -> None:
    assert QTvoiceError(status, code_for_status(status), "x").is_retryable is retryable
