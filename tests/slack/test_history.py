"""`/qtvoice history`: a party's calls, voicemails and texts from QTvoice, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.qtvoice.models import Call, Sms, Voicemail
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.slack.blocks.history import history_card
from bot.slack.blocks.kit import RenderContext
from bot.slack.buttons import ButtonCodec
from tests.conftest import RunningBot

CTX = RenderContext(
    timezone=ZoneInfo("UTC"), default_region="US", mask_numbers=False, buttons=ButtonCodec(b"k")
)


def lines(answer: dict[str, object]) -> list[str]:
    blocks = answer["blocks"]
    assert isinstance(blocks, list)
    text = "\n".join(b["text"]["text"] for b in blocks[1:] if b["type"] == "section")
    return text.splitlines()


def test_history_of_a_number_lists_calls_voicemails_and_texts_newest_first(
    bot: RunningBot, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.reset(seed=False)
    start = datetime.now(UTC) - timedelta(days=1)
    number = "+12675550123"
    qtvoice.state.add_call(number, MAIN_LINE, status="missed", created_at=start)
    qtvoice.state.add_voicemail(
        number, MAIN_LINE, transcription="Call me", created_at=start + timedelta(hours=1)
    )
    qtvoice.state.add_sms(number, MAIN_LINE, "<!channel> hi", created_at=start + timedelta(hours=2))
    qtvoice.state.add_call(
        MAIN_LINE, number, direction="outbound", duration=125, created_at=start + timedelta(hours=3)
    )

    answer = bot.command("/qtvoice", "history 267-555-0123")

    shown = lines(answer)
    assert [line.split(" · ")[0] for line in shown] == [
        "↗ Call",
        "💬 Text in",
        "📬 Voicemail",
        "↙ Missed call",
    ]
    assert "2:05" in shown[0]
    assert "&lt;!channel&gt; hi" in shown[1]
    assert "<!channel>" not in str(answer)


def test_history_tells_an_unanswered_outgoing_call_from_a_missed_one(
    bot: RunningBot, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.reset(seed=False)
    number = "+12675550123"
    qtvoice.state.add_call(MAIN_LINE, number, direction="outbound", status="missed")

    answer = bot.command("/qtvoice", "history 267-555-0123")

    assert lines(answer)[0].startswith("↗ No answer")


def test_history_by_name_reads_the_contacts_number(
    bot: RunningBot, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.add_call(CUSTOMER_NUMBER, MAIN_LINE, status="missed")

    answer = bot.command("/qtvoice", "history John Doe")

    assert answer["blocks"][0]["text"]["text"].startswith("🗂 History with *John Doe*")
    assert lines(answer)[0].startswith("↙ Missed call")


def test_history_of_a_name_nobody_has_says_what_to_do(bot: RunningBot) -> None:
    answer = bot.command("/qtvoice", "history Nobody Atall")

    assert "No contact with a phone number matches" in answer["text"]


def test_history_without_a_party_says_how(bot: RunningBot) -> None:
    answer = bot.command("/qtvoice", "history")

    assert answer["text"].startswith("Whose history?")


@given(st.lists(st.text(max_size=300), max_size=40))
def test_any_texts_fit_slack_and_ping_nobody(bodies: list[str]) -> None:
    texts = [
        Sms.model_validate({"id": f"sms_{n}", "message": body, "direction": "inbound"})
        for n, body in enumerate(bodies)
    ]

    card = history_card(CUSTOMER_NUMBER, "<!here>", [], [], texts, CTX)

    assert len(card.blocks) <= 50
    sections = [block for block in card.blocks if block["type"] == "section"]
    assert all(len(block["text"]["text"]) <= 3000 for block in sections)
    rendered = str(card.blocks) + card.text
    assert "<!" not in rendered


def test_a_voicemail_without_its_call_hides_no_other_call() -> None:
    calls = [Call.model_validate({"id": "call_1", "status": "missed"})]
    voicemails = [Voicemail.model_validate({"id": "vm_1"})]

    card = history_card(CUSTOMER_NUMBER, None, calls, voicemails, [], CTX)

    assert "Missed call" in str(card.blocks)
