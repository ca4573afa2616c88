"""Reply mode: which replies in a text's thread are texted to the customer (`REPLY_MODE`).

`thread` (the default): every reply by a linked person is texted unless it starts with
`note:`. `explicit`: replies stay internal unless they start with `send:` (the Reply button
texts as always), the safer choice where a slip must never reach a customer. In either mode
`note:` keeps a reply internal and a leading `send:` is not part of the text.
"""

from __future__ import annotations

NOTE_PREFIX = "note:"
SEND_PREFIX = "send:"
THREAD, EXPLICIT = "thread", "explicit"


def texted_words(text: str, mode: str) -> str | None:
    """The words a thread reply texts, or None when it stays internal."""
    stripped = text.lstrip()
    lowered = stripped.lower()
    if lowered.startswith(NOTE_PREFIX):
        return None
    if lowered.startswith(SEND_PREFIX):
        return stripped[len(SEND_PREFIX) :].lstrip()
    return None if mode == EXPLICIT else text
