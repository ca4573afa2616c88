"""Telling one person something only they see: the one place the bot answers a Slack user.

Where the answer goes follows where they asked (Slack's "Handling user interaction" docs):
through the interaction's response URL when it has one (a slash command, a message's
button), else ephemerally in the channel (and thread) they are in, else in their direct
message with the app (a click in the App Home comes from no channel). A response URL lasts
30 minutes and five uses; an answer that cannot be delivered leaves nobody else to tell, so it
is one warning line naming the failure, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.api_errors import describe
from bot.slack.blocks.kit import Block, Message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tell:
    """Answers `user` alone: `respond` is Bolt's, given only when the request carried a
    response URL; `channel` and `thread_ts` are where the person is, when known."""

    client: AsyncWebClient
    user: str
    channel: str | None = None
    thread_ts: str | None = None
    respond: AsyncRespond | None = None

    async def __call__(self, text: str, blocks: Sequence[Block] | None = None) -> None:
        """Say `text` (mrkdwn; `blocks` when given, with `text` as the fallback)."""
        block_kit = list(blocks) if blocks else None
        if self.respond is not None:
            try:
                await self.respond(
                    text=text, blocks=block_kit, response_type="ephemeral", replace_original=False
                )
            except Exception as error:
                logger.warning(
                    "could not answer through the response URL (%s): it may have expired (30 min)",
                    type(error).__name__,
                )
            return
        try:
            if self.channel:
                await self.client.chat_postEphemeral(
                    channel=self.channel,
                    user=self.user,
                    text=text,
                    thread_ts=self.thread_ts,
                    blocks=block_kit,
                )
            else:
                await self.client.chat_postMessage(channel=self.user, text=text, blocks=block_kit)
        except SlackApiError as error:
            logger.warning("could not tell %s: %s", self.user, describe(error))

    async def message(self, reply: Message) -> None:
        """Show a whole message (its text and blocks)."""
        await self(reply.text, reply.blocks)

    def elsewhere(self, channel: str | None, thread_ts: str | None) -> Tell:
        """The same person, answered in `channel` and `thread_ts` instead of a response URL."""
        return Tell(self.client, self.user, channel, thread_ts)
