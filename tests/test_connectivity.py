"""Which addresses the internet (Slack, QTvoice) can send to, judged from the URL alone."""

from __future__ import annotations

import pytest

from bot.connectivity import not_public


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://localhost:3999", "is this machine"),
        ("https://LOCALHOST", "is this machine"),
        ("https://bot.localhost", "is this machine"),
        ("http://127.0.0.1:3000", "is this machine"),
        ("https://[::1]:8443", "is this machine"),
        ("https://0.0.0.0", "is this machine"),
        ("https://10.1.2.3", "is a private address"),
        ("https://172.16.0.9", "is a private address"),
        ("https://192.168.1.20:8443", "is a private address"),
        ("https://169.254.10.1", "is a private address"),
        ("https://[fd00::1]", "is a private address"),
        ("https://qtslack", "is a name only a local network knows"),
        ("https://bot.local", "is a name only a local network knows"),
        ("https://qtslack.corp.internal", "is a name only a local network knows"),
        ("http://bot.example.com", "is plain http, not https"),
    ],
)
def test_addresses_slack_cannot_send_to_say_why(url: str, why: str) -> None:
    assert not_public(url) == why


@pytest.mark.parametrize(
    "url",
    ["https://your-app.herokuapp.com", "https://qtslack.example.com:8443", "https://8.8.8.8"],
)
def test_public_https_addresses_pass(url: str) -> None:
    assert not_public(url) is None
