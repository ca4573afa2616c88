"""What a Slack user is told when what they asked for did not happen: one sentence each.

Two kinds of failure reach a person. A `Refusal` is one of our rules saying no (not linked,
not a number, opted out, too many texts; raised by `bot.telephony` and the listeners), and
carries its own sentence. A `QTvoiceError` is QTvoice not doing it; its sentence is chosen
here from the status, following the API's documented codes (`../shared/seed/qtvoice-api.txt`).
Every listener (slash commands, buttons, the SMS modal, thread replies, the App Home) turns
failures into words through this module and nowhere else.
"""

from __future__ import annotations

from bot.qtvoice.errors import QTvoiceError
from bot.slack.blocks.kit import escape_mrkdwn
from bot.telephony import Refusal

Failure = Refusal | QTvoiceError
"""A failure a person hears about; anything else is our bug and gets `SORRY`."""

FAILURES = (Refusal, QTvoiceError)
"""`Failure` as a tuple, for `except FAILURES as failure:`."""

SORRY = "Sorry, something went wrong on our side; please try again in a moment."

STALE_BUTTON = "This button is out of date; please run the command again."
"""For a click on a button whose value the bot did not write (or no longer reads)."""

MODAL_NOT_OPENED = "Slack couldn't open the form in time; please press the button again."
"""For a button whose modal Slack would not open (its trigger expired)."""

ADMINS_ONLY = "Only QTvoice admins can {what}; please ask one of them."
"""For a non-admin asking for an admin's thing; `what` completes "Only QTvoice admins can"."""

_LONGEST_QUOTED_REASON = 200


def sentence(failure: Failure) -> str:
    """The sentence for `failure`, safe to put into mrkdwn as it is."""
    if isinstance(failure, Refusal):
        return failure.message
    return escape_mrkdwn(qtvoice_sentence(failure))


def warning(failure: Failure) -> str:
    """`sentence`, flagged ⚠️ when QTvoice failed: a refusal is an answer, not a fault."""
    if isinstance(failure, Refusal):
        return failure.message
    return f"⚠️ {sentence(failure)}"


def plain_sentence(failure: Failure) -> str:
    """The sentence for a plain-text surface, such as the error under a modal's input."""
    if isinstance(failure, Refusal):
        return failure.message
    return qtvoice_sentence(failure)


def qtvoice_sentence(error: QTvoiceError) -> str:
    """One friendly sentence saying what went wrong at QTvoice and what to do, never the key.

    For a 400 it quotes QTvoice's own reason (which may echo the request, so this is not
    mrkdwn-safe: `sentence` escapes it).
    """
    if error.outcome_unknown:
        return (
            "QTvoice didn't confirm the request, so it may or may not have gone through;"
            " please check before trying again."
        )
    if error.status == 400:
        reason = error.message[:_LONGEST_QUOTED_REASON].rstrip(". ")
        return f"QTvoice couldn't accept that request: {reason}."
    if error.status == 401:
        return "QTvoice rejected the bot's API key; please ask a Slack admin to update it."
    if error.status == 403:
        return (
            "The bot's QTvoice API key doesn't have permission for that;"
            " please ask an admin to grant it."
        )
    if error.status == 404:
        return "QTvoice couldn't find that; it may have been deleted."
    if error.status == 429:
        return "QTvoice is busy right now; please try again in a minute."
    if error.status >= 500:
        return "QTvoice is having trouble right now; please try again shortly."
    return f"QTvoice refused the request ({error.code}); please check it and try again."
