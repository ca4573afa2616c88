"""Who may link to an extension (`bot.store.links.verdict`): pure, so pinned without a server."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.store.links import Verdict, verdict

USERS = st.sampled_from(["U0ALICE", "U0BOB", "U0CAROL"])
EMAILS = st.sampled_from([None, "", "alice@example.com", "ALICE@example.com", "bob@example.com"])


@given(USERS, st.lists(USERS, max_size=3), EMAILS, EMAILS)
def test_an_admin_may_link_anyone_to_anything(
    subject: str, holders: list[str], extension_email: str | None, slack_email: str | None
) -> None:
    assert (
        verdict(
            subject=subject,
            by_admin=True,
            holders=holders,
            extension_email=extension_email,
            slack_email=slack_email,
        )
        is Verdict.ALLOWED
    )


@given(USERS, st.lists(USERS, min_size=1, max_size=3), EMAILS)
def test_nobody_links_themselves_to_an_extension_someone_else_holds(
    subject: str, holders: list[str], email: str | None
) -> None:
    others = [holder for holder in holders if holder != subject]
    decided = verdict(
        subject=subject, by_admin=False, holders=holders, extension_email=email, slack_email=email
    )
    assert (decided is Verdict.HELD) == bool(others)


def test_linking_yourself_to_a_free_extension_needs_its_email_to_be_yours() -> None:
    def alone(extension_email: str | None, slack_email: str | None) -> Verdict:
        return verdict(
            subject="U0ALICE",
            by_admin=False,
            holders=[],
            extension_email=extension_email,
            slack_email=slack_email,
        )

    assert alone("alice@example.com", "ALICE@example.com") is Verdict.ALLOWED
    assert alone("bob@example.com", "alice@example.com") is Verdict.NOT_THEIRS
    assert alone(None, "alice@example.com") is Verdict.NOT_THEIRS
    assert alone("alice@example.com", None) is Verdict.NOT_THEIRS
