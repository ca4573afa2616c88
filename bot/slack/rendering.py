"""What the Slack surfaces render with: this deployment's render context, and callers.

The SMS modal, the App Home, the buttons and the worker all render through these, so a
number reads (and is masked) the same everywhere, a caller is looked up the same way and
every button is sealed with the deployment's key.
"""

from __future__ import annotations

from bot import phone
from bot.config import Settings
from bot.directory import ContactDirectory
from bot.qtvoice.models import Contact
from bot.runtime import Runtime
from bot.slack.blocks.kit import RenderContext
from bot.slack.blocks.notifications import Caller
from bot.slack.buttons import ButtonCodec
from bot.slack.reply_mode import EXPLICIT


def render_context(settings: Settings) -> RenderContext:
    """`TIMEZONE`, `DEFAULT_REGION`, `MASK_NUMBERS`, the button codec keyed by
    `SLACK_SIGNING_SECRET`, and `REPLY_MODE`."""
    return RenderContext(
        timezone=settings.zone,
        default_region=settings.default_region,
        mask_numbers=settings.mask_numbers,
        buttons=ButtonCodec.for_signing_secret(settings.slack_signing_secret.get_secret_value()),
        explicit_replies=settings.reply_mode == EXPLICIT,
    )


async def lookup_caller(runtime: Runtime, number: str | None) -> Caller:
    """Who is behind `number`, from the contact directory (and its cache)."""
    if not number:
        return Caller(number=None)
    normalized = phone.normalize(number, runtime.settings.default_region)
    return Caller.of(normalized, await lookup_contact(runtime, normalized))


async def lookup_contact(runtime: Runtime, number: str) -> Contact | None:
    """The contact of `number` (normalized), from the contact directory (and its cache)."""
    async with runtime.sessions() as session:
        directory = ContactDirectory(runtime.qtvoice, runtime.settings.contact_sync_minutes)
        return await directory.contact(session, number)
