"""`GET /`: the set-up page, seen over HTTP and in a real (headless) browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.chromium import dump_dom, screenshot
from bot.sandbox.qtvoice import DEFAULT_READ_ONLY_KEY, QTvoiceSandbox
from bot.sandbox.server import BackgroundServer, free_port
from bot.sandbox.slack import DEFAULT_APP_TOKEN
from bot.setup_page import NEW_APP_URL
from bot.web import create_app
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET


def serve_here(
    settings: Settings, *, at_public_url: bool = False, **changes: object
) -> Iterator[str]:
    """The bot served on this machine with `changes` to its settings (and PUBLIC_URL its own
    address if `at_public_url`, as on a platform): that address."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    deployed = settings.model_copy(update={"public_url": url if at_public_url else None, **changes})
    server = BackgroundServer(create_app(Runtime.create(deployed), run_worker=False), port)
    server.start()
    try:
        yield url
    finally:
        server.stop()


#: A deployment on this machine can be live only over Socket Mode: Slack sends HTTP requests
#: to public https:// addresses alone.
APP_TOKEN = SecretStr(DEFAULT_APP_TOKEN)
#: How the platform's router asks for the page: https, at the app's public name.
ROUTED = {"Host": "qtslack.example.com", "X-Forwarded-Proto": "https"}


@pytest.fixture
def working(settings: Settings) -> Iterator[str]:
    yield from serve_here(settings, slack_app_token=APP_TOKEN)


@pytest.fixture
def read_only_key(settings: Settings, qtvoice: QTvoiceSandbox) -> Iterator[str]:
    """A deployment whose QTvoice key may read but not call or text: a broken setting."""
    yield from serve_here(
        settings, slack_app_token=APP_TOKEN, qtvoice_api_key=SecretStr(DEFAULT_READ_ONLY_KEY)
    )


@pytest.fixture
def over_http_here(settings: Settings) -> Iterator[str]:
    """An HTTP deployment (no app token) whose PUBLIC_URL is its own http://127.0.0.1 address."""
    yield from serve_here(settings, at_public_url=True)


def secrets_of(settings: Settings, qtvoice: QTvoiceSandbox) -> list[str]:
    return [BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET, qtvoice.api_key, DEFAULT_READ_ONLY_KEY]


def create_app_manifest(page: str) -> dict[str, Any]:
    """The manifest the page's Create the Slack app link carries."""
    link = page.split('id="create-app" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert link.startswith(NEW_APP_URL)
    manifest: dict[str, Any] = json.loads(parse_qs(urlsplit(link).query)["manifest_json"][0])
    return manifest


def test_setup_page_on_a_working_deployment_says_live_and_creates_its_app(
    working: str, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    page = httpx.get(f"{working}/", headers=ROUTED, timeout=30)

    assert page.status_code == 200
    assert "You are live" in page.text
    assert "FAIL" not in page.text
    assert 'class="fail"' not in page.text
    webhooks = "https://qtslack.example.com/qtvoice/webhooks"
    assert f"<code id='webhook-url'>{webhooks}</code>" in page.text
    manifest = create_app_manifest(page.text)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in json.dumps(manifest)
    for secret in secrets_of(settings, qtvoice):
        assert secret not in page.text
    assert settings.database_url not in page.text


def test_setup_page_over_http_carries_request_urls_and_says_slack_cannot_reach_this_machine(
    over_http_here: str, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    page = httpx.get(f"{over_http_here}/", timeout=30)

    assert "1 thing to fix before you are live" in page.text
    failing = page.text.split('<li class="fail">', 1)[1].split("</li>", 1)[0]
    assert "public url" in failing
    assert "Slack only sends to a public https:// address" in failing
    assert "from here it answers as this bot" in failing
    manifest = create_app_manifest(page.text)
    events = f"{over_http_here}/slack/events"
    assert manifest["settings"]["event_subscriptions"]["request_url"] == events
    assert manifest["settings"]["socket_mode_enabled"] is False
    for secret in secrets_of(settings, qtvoice):
        assert secret not in page.text


def test_setup_page_names_a_broken_setting_and_its_fix(
    read_only_key: str, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    page = httpx.get(f"{read_only_key}/", timeout=30)

    assert page.status_code == 200
    assert "1 thing to fix before you are live" in page.text
    failing = page.text.split('<li class="fail">', 1)[1].split("</li>", 1)[0]
    assert "qtvoice" in failing
    assert "may not place calls or send texts" in failing
    assert "Settings → API Keys" in failing
    for secret in secrets_of(settings, qtvoice):
        assert secret not in page.text


def test_setup_page_is_drawn_by_a_browser_broken_and_working(
    working: str, read_only_key: str, chromium: str, tmp_path: Path
) -> None:
    for name, url, verdict in (
        ("working", working, "You are live"),
        ("broken", read_only_key, "1 thing to fix before you are live"),
    ):
        png = tmp_path / f"{name}.png"
        screenshot(chromium, f"{url}/", png, width=1000, height=1400)
        dom = dump_dom(chromium, f"{url}/", width=1000, height=1400)

        assert png.read_bytes().startswith(b"\x89PNG"), name
        assert png.stat().st_size > 10_000, name
        assert verdict in dom, name
        assert 'id="create-app"' in dom, name
