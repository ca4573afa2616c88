"""What a Slack user is told when QTvoice or one of our rules says no (`bot.slack.sentences`)."""

from __future__ import annotations

import pytest

from bot.qtvoice.errors import QTvoiceError, code_for_status
from bot.slack.sentences import plain_sentence, qtvoice_sentence, sentence
from bot.telephony import Refusal


def test_qtvoice_sentence_for_rejected_key_asks_for_an_admin() -> None:
    message = qtvoice_sentence(QTvoiceError(401, "UNAUTHORIZED", "Invalid API key"))

    assert "API key" in message
    assert "admin" in message


def test_qtvoice_sentence_for_missing_permission_names_permission() -> None:
    assert "permission" in qtvoice_sentence(QTvoiceError(403, "FORBIDDEN", "nope"))


def test_qtvoice_sentence_for_not_found_says_so() -> None:
    assert "couldn't find" in qtvoice_sentence(QTvoiceError(404, "NOT_FOUND", "Call not found"))


def test_qtvoice_sentence_for_rate_limit_says_try_again_in_a_minute() -> None:
    assert "try again in a minute" in qtvoice_sentence(QTvoiceError(429, "RATE_LIMITED", "x"))


@pytest.mark.parametrize(
    ("status", "code"), [(500, "SERVER_ERROR"), (503, "UNAVAILABLE"), (504, "TIMEOUT")]
)
def test_qtvoice_sentence_for_outages_and_timeouts_says_try_again_shortly(
    status: int, code: str
) -> None:
    assert "try again shortly" in qtvoice_sentence(QTvoiceError(status, code, "x"))


def test_qtvoice_sentence_for_bad_request_quotes_qtvoice_reason() -> None:
    error = QTvoiceError(400, "BAD_REQUEST", "to must be an E.164 phone number")

    assert qtvoice_sentence(error) == (
        "QTvoice couldn't accept that request: to must be an E.164 phone number."
    )


def test_qtvoice_sentence_when_outcome_unknown_says_check_before_retrying() -> None:
    error = QTvoiceError(500, "SERVER_ERROR", "x", outcome_unknown=True)

    assert "check before trying again" in qtvoice_sentence(error)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503, 504, 409])
def test_qtvoice_sentence_is_one_sentence(status: int) -> None:
    message = qtvoice_sentence(QTvoiceError(status, code_for_status(status), "Something odd"))

    assert message.endswith(".")
    assert message.count(". ") == 0


def test_a_refusal_is_told_in_its_own_words() -> None:
    refusal = Refusal("You haven't linked a QTvoice extension yet.")

    assert sentence(refusal) == plain_sentence(refusal) == refusal.message


def test_qtvoice_reason_is_escaped_for_mrkdwn_but_not_for_plain_text() -> None:
    error = QTvoiceError(400, "BAD_REQUEST", "to <!channel> & co is not E.164")

    assert sentence(error) == (
        "QTvoice couldn't accept that request: to &lt;!channel&gt; &amp; co is not E.164."
    )
    assert (
        plain_sentence(error)
        == "QTvoice couldn't accept that request: to <!channel> & co is not E.164."
    )
