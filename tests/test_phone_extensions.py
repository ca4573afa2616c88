"""Extensions typed after a number: spotted, kept apart, never mistaken for a name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import phone

REGION = "US"

#: How people and phones write "then dial extension": libphonenumber reads each of these.
MARKERS = [" x", " x ", "x", " ext. ", " ext ", " extension ", ",,", ",", ";"]


@pytest.mark.parametrize(
    ("typed", "number", "extension"),
    [
        ("215-555-0123 x45", "+12155550123", "45"),
        ("215-555-0123 ext. 45", "+12155550123", "45"),
        ("215-555-0123,,45#", "+12155550123", "45"),
        ("+44 20 7946 0958 ext 12", "+442079460958", "12"),
        ("215-555-0123", "+12155550123", None),
    ],
)
def test_a_number_with_an_extension_is_the_main_number_and_its_extension(
    typed: str, number: str, extension: str | None
) -> None:
    assert phone.is_phone_like(typed)
    assert phone.parse(typed, REGION) == number
    assert phone.extension(typed, REGION) == extension


@pytest.mark.parametrize("typed", ["john x45", "Acme ext. 2", "x45", "extension 101"])
def test_words_with_an_extension_are_still_words(typed: str) -> None:
    assert not phone.is_phone_like(typed)


@given(
    area=st.integers(201, 989).filter(lambda n: n % 100 != 11),
    exchange=st.integers(200, 999).filter(lambda n: n % 100 != 11),
    line=st.integers(0, 9999),
    marker=st.sampled_from(MARKERS),
    ext=st.integers(1, 99999).map(str),
    hash_end=st.booleans(),
)
def test_any_valid_number_with_any_extension_keeps_both(
    area: int, exchange: int, line: int, marker: str, ext: str, hash_end: bool
) -> None:
    main = f"{area}-{exchange}-{line:04d}"
    if phone.parse(main, REGION) is None:
        return  # not every area code is in use
    typed = f"{main}{marker}{ext}{'#' if hash_end else ''}"

    assert phone.is_phone_like(typed)
    assert phone.parse(typed, REGION) == phone.parse(main, REGION)
    assert phone.extension(typed, REGION) == ext


@given(st.text(alphabet=st.characters(categories=["L", "Zs"]), min_size=1))
def test_text_without_digits_is_never_a_number_or_an_extension(text: str) -> None:
    assert not phone.is_phone_like(text)
    assert phone.extension(text, REGION) is None
