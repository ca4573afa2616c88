"""The button codec (`bot.slack.buttons`): what the bot writes reads back; nothing else does."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.buttons import FIELD_LIMIT, VALUE_LIMIT, ButtonCodec, ButtonValue

CODEC = ButtonCodec.for_signing_secret("a signing secret")
OTHER = ButtonCodec.for_signing_secret("another signing secret")

short_text = st.text(min_size=1, max_size=FIELD_LIMIT)
values = st.builds(
    ButtonValue,
    number=st.none() | short_text,
    line=st.none() | short_text,
    extension=st.none() | short_text,
    purpose=st.none() | st.sampled_from(["call", "sms", "contact"]),
    text=st.none() | st.text(min_size=1, max_size=300),
    item=st.none() | st.integers(0, 10**18 - 1).map(str),
    delivery=st.none() | st.integers(0, 10**18 - 1).map(str),
    channel=st.none() | short_text,
    thread=st.none() | short_text,
)


@given(values)
def test_what_the_bot_writes_reads_back_the_same(value: ButtonValue) -> None:
    encoded = CODEC.encode(value)

    assert len(encoded) <= VALUE_LIMIT
    assert CODEC.decode(encoded) == value


@given(values, st.sampled_from(["n", "l", "x", "p", "t", "i", "d", "c", "h"]), st.text(max_size=20))
def test_a_value_changed_by_anyone_but_the_bot_reads_as_nothing(
    value: ButtonValue, key: str, replacement: str
) -> None:
    sealed = json.loads(CODEC.encode(value))
    if sealed.get(key) == replacement:
        return
    forged = json.dumps({**sealed, key: replacement})

    assert CODEC.decode(forged) is None


@given(values)
def test_a_value_sealed_under_another_key_reads_as_nothing(value: ButtonValue) -> None:
    assert CODEC.decode(OTHER.encode(value)) is None


@given(st.one_of(st.text(), st.none(), st.integers(), st.from_type(object).map(repr)))
def test_any_value_at_all_reads_as_a_value_or_nothing_without_raising(raw: object) -> None:
    decoded = CODEC.decode(raw)

    assert decoded is None or isinstance(decoded, ButtonValue)


def test_an_unsealed_value_of_the_old_schema_names_nothing() -> None:
    assert CODEC.decode('{"n":"+19005550123","l":"+12155550100"}') is None
    assert CODEC.decode('{"i":"1"}') is None


@given(st.integers(0, 10**18 - 1))
def test_an_item_id_survives_its_button(item_id: int) -> None:
    value = CODEC.decode(CODEC.encode(ButtonValue(item=str(item_id))))

    assert value is not None
    assert value.item_id() == item_id


def test_an_item_that_is_not_a_row_id_names_none() -> None:
    for item in ("-1", "1e3", "١٢", "9" * 19, ""):
        assert ButtonValue(item=item).item_id() is None
