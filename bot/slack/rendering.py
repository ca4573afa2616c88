"""How the Slack surfaces show people and numbers: the render context, callers, small blocks.

The SMS modal, the App Home and the buttons all render through these, so a number reads (and
is masked) the same everywhere and a caller is looked up the same way.
"""

from __future__ import annotations

from bot import phone
from bot.config import Settings
from bot.directory import ContactDirectory
from bot.qtvoice.models import Contact
from bot.runtime import Runtime
from bot.slack.blocks import Block, Caller, RenderContext, escape_mrkdwn


def render_context(settings: Settings) -> RenderContext:
    return RenderContext(
        timezone=settings.zone,
        default_region=settings.default_region,
        mask_numbers=settings.mask_numbers,
    )


def shown_number(number: str, ctx: RenderContext) -> str:
    """A customer's number as a confirmation shows it: masked when asked, always escaped."""
    shown = phone.mask(number) if ctx.mask_numbers else phone.display(number, ctx.default_region)
    return escape_mrkdwn(shown)


def same_number(one: str | None, other: str | None, ctx: RenderContext) -> bool:
    if not one or not other:
        return False
    region = ctx.default_region
    return phone.normalize(one, region) == phone.normalize(other, region)


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


def section(block_id: str, text: str) -> Block:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def context(block_id: str, text: str) -> Block:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": text}]}
