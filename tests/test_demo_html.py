"""demo.html looks like Slack: the renderer's pure pieces, then the real demo in a real browser.

The unit tests pin how mrkdwn and Block Kit are drawn (Slack's rules:
https://api.slack.com/reference/surfaces/formatting) and, by properties, that nothing a
caller writes can become markup. The browser test plays the demo's scenarios against the real
bot, writes demo.html and opens it in headless Chromium: every message the Slack sandbox
recorded must be drawn with a visible size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.demo import Demo, Flow, write_flow_page, write_html
from bot.sandbox.chromium import dump_dom
from bot.sandbox.slack import html as slack_html
from bot.slack.blocks.kit import escape_mrkdwn

NAMES = slack_html.Names(
    users={"U0ALICE": "Alice Anderson", "U0QTSLACK": "QTslack"},
    channels={"C0PHONES": "phones"},
    bot_user_id="U0QTSLACK",
)
NEW_YORK = ZoneInfo("America/New_York")
ALLOWED_TAGS = {"a", "b", "i", "s", "code", "pre", "br", "blockquote", "span"}
ALLOWED_ATTRIBUTES = {"href", "class", "target", "rel"}


def draw(text: str) -> str:
    return slack_html.mrkdwn(text, NAMES)


class Parsed(HTMLParser):
    """What a browser would make of an HTML fragment: its tags, attributes and visible text."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.open: list[str] = []
        self.balanced = True
        self.text = ""
        self.feed(fragment)
        self.close()
        self.balanced = self.balanced and not self.open

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        if tag == "br":
            self.text += "\n"
        else:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.balanced = False

    def handle_data(self, data: str) -> None:
        self.text += data


# mrkdwn, by example


@pytest.mark.parametrize(
    ("mrkdwn", "html"),
    [
        ("*Line*", "<b>Line</b>"),
        ("_Transcribing…_", "<i>Transcribing…</i>"),
        ("~gone~", "<s>gone</s>"),
        ("start with `note:` here", "start with <code>note:</code> here"),
        ("```a\n*b*```", "<pre>a\n*b*</pre>"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("_*both*_ and *_both_*", "<i><b>both</b></i> and <b><i>both</i></b>"),
        ("_:*_*", "_:<b>_</b>"),
        ("a\nb", "a<br>b"),
        ("> quoted\n> twice\nafter", "<blockquote>quoted<br>twice</blockquote>after"),
        ("Tom &amp; Jerry &lt;3", "Tom &amp; Jerry &lt;3"),
        ("&quot;", "&amp;quot;"),
        ("done :white_check_mark:", "done ✅"),
        (
            "<@U0ALICE> and <#C0PHONES>",
            '<span class="mention">@Alice Anderson</span> and <span class="mention">#phones</span>',
        ),
        ("<!here>", '<span class="mention loud">@here</span>'),
        ("<!subteam^S1|@ops>", '<span class="mention">@ops</span>'),
        (
            "<https://x.example/a?b=1&amp;c=2|▶ Listen>",
            '<a href="https://x.example/a?b=1&amp;c=2" target="_blank" rel="noopener">▶ Listen</a>',
        ),
        (
            "*<https://x.example|bold link>*",
            '<b><a href="https://x.example" target="_blank" rel="noopener">bold link</a></b>',
        ),
        ("<javascript:alert(1)|click me>", "click me"),
    ],
)
def test_mrkdwn_is_drawn_as_slack_draws_it(mrkdwn: str, html: str) -> None:
    assert draw(mrkdwn) == html


def test_a_callers_script_and_channel_ping_are_text() -> None:
    drawn = draw(f"*From* {escape_mrkdwn('<script>alert(1)</script> <!channel> <@U0ALICE>')}")
    parsed = Parsed(drawn)
    assert parsed.tags == ["b"]
    assert parsed.text == "From <script>alert(1)</script> <!channel> <@U0ALICE>"


def test_shortcodes_become_emoji_and_unknown_ones_stay_shortcodes() -> None:
    assert slack_html.emoji("white_check_mark") == "✅"
    assert slack_html.emoji(":outbox_tray:") == "📤"
    assert slack_html.emoji("no_such_emoji") == ":no_such_emoji:"


# mrkdwn, by property: nothing a caller writes becomes markup


@given(st.text())
def test_escaped_text_never_becomes_a_tag_a_link_or_a_mention(text: str) -> None:
    parsed = Parsed(draw(escape_mrkdwn(text)))
    assert parsed.balanced
    assert set(parsed.tags) <= {"b", "i", "s", "code", "pre", "br", "blockquote"}
    assert parsed.attributes == []


@given(
    st.text(
        alphabet=st.characters(blacklist_characters="*_~`:>\r", blacklist_categories=("Cs", "Co"))
    )
)
def test_escaped_text_without_markers_reads_exactly_as_written(text: str) -> None:
    assert Parsed(draw(escape_mrkdwn(text))).text == text


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(list("<>|&;@#!*_~`:\n abc/htps.\ue000\ue001012"))))
def test_any_mrkdwn_draws_balanced_html_with_only_safe_links(text: str) -> None:
    parsed = Parsed(draw(text))
    assert parsed.balanced
    assert set(parsed.tags) <= ALLOWED_TAGS
    assert {name for name, _ in parsed.attributes} <= ALLOWED_ATTRIBUTES
    hrefs = [value or "" for name, value in parsed.attributes if name == "href"]
    assert all(href.startswith(slack_html.LINK_SCHEMES) for href in hrefs)


# Blocks and messages


def test_a_section_draws_its_fields_in_two_columns_and_its_accessory() -> None:
    drawn = slack_html.block(
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "📵 Missed call"},
            "fields": [
                {"type": "mrkdwn", "text": "*Line*\n1"},
                {"type": "mrkdwn", "text": "*When*\n2"},
            ],
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open"},
                "action_id": "o",
            },
        },
        NAMES,
    )
    assert (
        '<div class="fields"><div class="field"><b>Line</b><br>1</div><div class="field">' in drawn
    )
    assert '<div class="accessory"><button type="button" class="btn" data-action-id="o"' in drawn


def test_buttons_keep_their_style_and_plain_text_stays_plain() -> None:
    drawn = slack_html.block(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "*Call* <b>"},
                    "action_id": "call_back",
                    "value": '{"n":"+1"}',
                    "style": "primary",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Stop"},
                    "action_id": "x",
                    "style": "danger",
                },
            ],
        },
        NAMES,
    )
    assert (
        'class="btn primary" data-action-id="call_back" data-value="{&quot;n&quot;:&quot;+1&quot;}">*Call* &lt;b&gt;</button>'
        in drawn
    )
    assert 'class="btn danger"' in drawn


def test_context_header_divider_and_images_are_drawn() -> None:
    assert (
        slack_html.block({"type": "header", "text": {"type": "plain_text", "text": "Digest"}})
        == '<div class="block header">Digest</div>'
    )
    assert slack_html.block({"type": "divider"}) == '<hr class="block divider">'
    context = slack_html.block(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "📥 *John*"}]}
    )
    assert context == '<div class="block context"><span>📥 <b>John</b></span></div>'
    image = slack_html.block(
        {"type": "image", "image_url": "https://x.example/a.png", "alt_text": 'a "chart"'}
    )
    assert '<img class="picture" src="https://x.example/a.png" alt="a &quot;chart&quot;"' in image
    assert "<img" not in slack_html.block(
        {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "x"}
    )


def test_a_modals_menu_is_drawn_as_a_menu_of_its_options() -> None:
    menu = {
        "type": "input",
        "block_id": "sms_saved",
        "optional": True,
        "label": {"type": "plain_text", "text": "Or send a saved reply"},
        "element": {
            "type": "static_select",
            "action_id": "saved",
            "placeholder": {"type": "plain_text", "text": "Pick a saved reply"},
            "options": [
                {"text": {"type": "plain_text", "text": "hours: 9-5 <b>"}, "value": "hours"},
                {"text": {"type": "plain_text", "text": "thanks: Thank you!"}, "value": "thanks"},
            ],
        },
    }

    drawn = slack_html.modal({"id": "V1", "blocks": [menu]}, NAMES)

    assert (
        '<select class="input" data-block-id="sms_saved" data-action-id="saved">'
        '<option value="">Pick a saved reply</option>'
        '<option value="hours">hours: 9-5 &lt;b&gt;</option>'
        '<option value="thanks">thanks: Thank you!</option></select>'
    ) in drawn
    assert 'type="text"' not in drawn


def test_a_message_shows_author_time_edits_reactions_and_its_thread() -> None:
    parent = {
        "ts": "1764532800.000100",
        "user": "U0QTSLACK",
        "bot_id": "B0QTSLACK",
        "text": "x",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "💬 Text conversation"}}],
        "thread_ts": "1764532800.000100",
        "reply_count": 1,
        "edited": {"user": "U0QTSLACK", "ts": "1764532801.000000"},
    }
    reply = {
        "ts": "1764532860.000200",
        "user": "U0ALICE",
        "text": "<b>hi</b>",
        "thread_ts": "1764532800.000100",
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [{"type": "text", "text": "<b>hi</b>"}],
                    }
                ],
            }
        ],
        "reactions": [{"name": "white_check_mark", "users": ["U0QTSLACK"], "count": 1}],
    }
    pane = slack_html.conversation(
        slack_html.Conversation("C0PHONES", "phones", [parent, reply]), NAMES, NEW_YORK
    )
    assert '<header class="pane-head">#phones</header>' in pane
    assert (
        '<span class="author">QTslack</span><span class="badge">APP</span><time datetime="1764532800.000100">3:00 PM</time>'
        in pane
    )
    assert (
        '<span class="edited">(edited)</span><div class="thread"><div class="replies-count">1 reply</div><div class="msg" data-ts="1764532860.000200"'
        in pane
    )
    assert '<span class="author">Alice Anderson</span><time' in pane
    assert "&lt;b&gt;hi&lt;/b&gt;" in pane
    assert '<span class="reaction" title=":white_check_mark:">✅<b>1</b></span>' in pane


def test_ephemerals_say_who_sees_them() -> None:
    ephemeral = {
        "channel": "C0GENERAL",
        "user": "U0ALICE",
        "ts": "1764532800.000300",
        "text": "📞 Calling",
    }
    pane = slack_html.conversation(
        slack_html.Conversation("C0GENERAL", "general", [], [ephemeral]), NAMES, NEW_YORK
    )
    assert '<div class="msg ephemeral" data-ts="1764532800.000300"' in pane
    assert "Only visible to Alice Anderson" in pane


# The real demo in a real browser


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, list[Flow]]]:
    demo = Demo(tmp_path_factory.mktemp("demo"))
    try:
        yield demo, demo.play()
    finally:
        demo.close()


_MEASURE = (
    "<script>for (const m of document.querySelectorAll('[data-ts]')) {"
    " const box = m.getBoundingClientRect();"
    " if (box.width > 0 && box.height > 0) m.setAttribute('data-drawn', 'yes'); }</script>"
)
_DRAWN = re.compile(r'<div class="msg[^"]*" data-ts="([0-9.]+)"[^>]*data-drawn="yes"')


def test_every_recorded_message_is_drawn_in_the_browser(
    played: tuple[Demo, list[Flow]], chromium: str, tmp_path: Path
) -> None:
    demo, flows = played
    assert all(flow.ok for flow in flows), [flow.notes for flow in flows]
    page = tmp_path / "demo.html"
    write_html(demo, flows, page)
    recorded = {
        message["ts"]
        for channel in demo.slack.conversations()
        for message in demo.slack.messages(channel)
    } | {ephemeral["ts"] for ephemeral in demo.slack.ephemerals()}
    assert len(recorded) >= 7

    measured = tmp_path / "measured.html"
    measured.write_text(page.read_text(encoding="utf-8") + _MEASURE, encoding="utf-8")
    dom = dump_dom(chromium, measured)

    assert set(_DRAWN.findall(dom)) == recorded
    assert dom.count('class="btn primary"') >= 3
    assert "✅" in dom
    assert "📤" in dom
    assert "<b>John Doe</b>" in dom
    assert "*John Doe*" not in dom
    assert "&lt;https://" not in dom


def test_each_flow_page_measures_itself_for_its_picture(
    played: tuple[Demo, list[Flow]], chromium: str, tmp_path: Path
) -> None:
    demo, flows = played
    for flow in flows:
        page = tmp_path / f"{flow.slug}.html"
        write_flow_page(demo, flow, page)
        height = re.search(r'data-shot-height="(\d+)"', dump_dom(chromium, page, width=640))
        assert height is not None, flow.slug
        assert 80 < int(height.group(1)) < 900, (flow.slug, height.group(1))


def test_what_a_person_typed_is_shown_as_typed() -> None:
    typed = {
        "ts": "1764532800.000400",
        "user": "U0ALICE",
        "text": "<script>x</script> *hi* <!channel>",
    }
    pane = slack_html.conversation(
        slack_html.Conversation("C0PHONES", "phones", [typed]), NAMES, NEW_YORK
    )
    assert "&lt;script&gt;x&lt;/script&gt; <b>hi</b> &lt;!channel&gt;" in pane
