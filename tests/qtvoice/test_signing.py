"""Webhook signatures and timestamps, as the seed doc's Node example computes them."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.qtvoice.signing import sign, signature_matches, timestamp_is_fresh

BODY = b'{"event":"call.missed","data":{"id":"call_1"}}'


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(b"secret", BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, "secret") == expected


@pytest.mark.parametrize("prefix", ["", "sha256="])
def test_bare_and_prefixed_signatures_match(prefix: str) -> None:
    assert signature_matches(BODY, prefix + sign(BODY, "secret"), ["secret"])


def test_uppercase_hex_matches() -> None:
    assert signature_matches(BODY, sign(BODY, "secret").upper(), ["secret"])


def test_any_rotated_secret_matches() -> None:
    assert signature_matches(BODY, sign(BODY, "old"), ["new", "old"])


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", "not-hex", sign(BODY, "other"), sign(BODY + b" ", "secret")],
    ids=["empty", "prefix-only", "garbage", "wrong-secret", "changed-body"],
)
def test_anything_else_does_not_match(signature: str) -> None:
    assert not signature_matches(BODY, signature, ["secret"])


def test_no_secrets_match_nothing() -> None:
    assert not signature_matches(BODY, sign(BODY, "secret"), [])


@pytest.mark.parametrize(
    ("timestamp", "fresh"),
    [
        ("1000", True),
        ("700", True),
        ("1300", True),
        ("699", False),
        ("1301", False),
        ("", False),
        ("soon", False),
    ],
)
def test_timestamp_window(timestamp: str, fresh: bool) -> None:
    assert timestamp_is_fresh(timestamp, now=1000, tolerance_seconds=300) is fresh
