"""A voicemail's recording as a playable audio file in its thread (`UPLOAD_RECORDINGS`).

Slack plays an uploaded MP3 inline; QTvoice's recording link needs a QTvoice login. So the
worker fetches the audio with the API key (`QTvoiceClient.download_recording`: streamed to
a temporary file, at most `RECORDING_MAX_MB`) and uploads it with Slack's external upload,
the three steps `files_upload_v2` takes: `files.getUploadURLExternal`, the bytes to the
upload URL (streamed from the file), `files.completeUploadExternal` into the thread.

Why the steps by hand rather than `files_upload_v2` itself: it reads the whole file into
memory, and it learns the file's id only inside, so when the completion's answer is lost a
retry cannot tell "shared" from "not shared" and would post the recording twice. Here the
file id is written down (a `PostedMessage` of kind `recording`, its `state`) before the
completion is asked for; a retry that finds an id asks `files.info` whether it is shared in
the channel, and completes it only if not. The recording is thus in the thread exactly once,
and a failure on the way (QTvoice or Slack unreachable, a 429) raises, so the voicemail's
delivery is retried like any other.

A recording that can never be uploaded (too large, not found, a link outside QTvoice), or
that QTvoice did not hand over in `FETCH_TRIES` deliveries, keeps its link in the message and
gets one line in the thread saying why.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.poster import SlackPoster
from bot.qtvoice.client import QTvoiceClient
from bot.qtvoice.errors import NOT_QTVOICE, TOO_LARGE, QTvoiceError
from bot.slack.blocks.kit import Message, context
from bot.store.models import PostedMessage
from bot.tls import client_context

logger = logging.getLogger(__name__)

RECORDING = "recording"
RECORDING_NOTE = "recording_note"
CHUNK_BYTES = 64 * 1024
UPLOAD_TIMEOUT_SECONDS = 60.0
MEGABYTE = 1024 * 1024
#: The file's name and title in Slack: nothing of the caller's, so it needs no masking.
RECORDING_TITLE = "Voicemail recording.mp3"

#: Deliveries of the voicemail that try to fetch its recording before the thread says it
#: could not be had (fewer than `DELIVERY_MAX_ATTEMPTS`, so the voicemail is never parked
#: for its recording's sake).
FETCH_TRIES = 4
#: QTvoice answers that no retry can mend: the recording stays a link, the thread says why.
_PERMANENT = {TOO_LARGE, NOT_QTVOICE, "NOT_FOUND", "FORBIDDEN", "BAD_REQUEST"}


class RecordingUploader:
    """Puts each voicemail's recording into its thread in each channel, once."""

    def __init__(
        self, qtvoice: QTvoiceClient, slack: AsyncWebClient, poster: SlackPoster, max_mb: int
    ) -> None:
        self.qtvoice = qtvoice
        self.slack = slack
        self.poster = poster
        self.max_bytes = max_mb * MEGABYTE

    async def upload_once(
        self,
        session: AsyncSession,
        *,
        key: str,
        channel: str,
        thread_ts: str,
        url: str,
        title: str,
    ) -> None:
        """The recording at `url` in the thread `thread_ts` of `channel`, unless it is already
        there (or was found impossible). Raises SlackApiError or QTvoiceError to be retried."""
        ref = await self._ref(session, key, channel, thread_ts)
        if ref.state.get("done"):
            return
        file_id = ref.state.get("file_id")
        if isinstance(file_id, str) and await self._shared(file_id, channel):
            await self._done(session, ref, file_id=file_id)
            return
        with tempfile.TemporaryFile() as audio:
            try:
                size = await self.qtvoice.download_recording(url, audio, max_bytes=self.max_bytes)
            except QTvoiceError as error:
                tries = int(ref.state.get("tries") or 0) + 1
                if error.code not in _PERMANENT and tries < FETCH_TRIES:
                    ref.state = {**ref.state, "tries": tries}
                    await session.commit()
                    raise
                await self._cannot(session, ref, key, channel, thread_ts, error)
                return
            audio.seek(0)
            file_id = await self._upload(audio, size, title)
        await self._done(session, ref, file_id=file_id, done=False)
        await self.slack.files_completeUploadExternal(
            files=[{"id": file_id, "title": title}], channel_id=channel, thread_ts=thread_ts
        )
        await self._done(session, ref, file_id=file_id)

    async def _ref(
        self, session: AsyncSession, key: str, channel: str, thread_ts: str
    ) -> PostedMessage:
        ref = await self.poster.find(session, RECORDING, key, channel)
        if ref is None:
            ref = PostedMessage(
                kind=RECORDING, key=key, channel_id=channel, thread_ts=thread_ts, state={}
            )
            session.add(ref)
            await session.commit()
        return ref

    async def _shared(self, file_id: str, channel: str) -> bool:
        """Whether an upload started before (its answer lost) is shared in `channel` now."""
        try:
            answer = await self.slack.files_info(file=file_id)
        except SlackApiError as error:
            if error.response.get("error") == "file_not_found":
                return False
            raise
        shares: dict[str, Any] = (answer.get("file") or {}).get("shares") or {}
        return any(channel in (shares.get(kind) or {}) for kind in ("public", "private"))

    async def _upload(self, audio: IO[bytes], size: int, title: str) -> str:
        """Steps one and two: an upload URL for `size` bytes, then the bytes; the file id."""
        ticket = await self.slack.files_getUploadURLExternal(filename=title, length=size)
        file_id, upload_url = str(ticket["file_id"]), str(ticket["upload_url"])
        async with httpx.AsyncClient(
            timeout=UPLOAD_TIMEOUT_SECONDS, verify=client_context()
        ) as http:
            response = await http.post(
                upload_url,
                content=_chunks(audio),
                headers={"Content-Length": str(size), "Content-Type": "audio/mpeg"},
            )
        response.raise_for_status()  # retried with the delivery, as any Slack failure
        return file_id

    async def _done(
        self, session: AsyncSession, ref: PostedMessage, *, file_id: str | None, done: bool = True
    ) -> None:
        ref.state = {**ref.state, "file_id": file_id, "done": done}
        await session.commit()

    async def _cannot(
        self,
        session: AsyncSession,
        ref: PostedMessage,
        key: str,
        channel: str,
        thread_ts: str,
        error: QTvoiceError,
    ) -> None:
        """Say once in the thread why the recording stays a link."""
        if error.code == TOO_LARGE:
            why = f"it is over {self.max_bytes // MEGABYTE} MB"
        elif error.code == NOT_QTVOICE:
            why = "its link is not on QTvoice"
        else:
            why = "QTvoice did not hand it over"
        text = f"🔊 The recording was not attached ({why}); use the Listen link above."
        await self.poster.post_once(
            session,
            kind=RECORDING_NOTE,
            key=key,
            channel=channel,
            message=Message(text, [context(RECORDING_NOTE, text)]),
            thread_ts=thread_ts,
        )
        await self._done(session, ref, file_id=None)


async def _chunks(audio: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := audio.read(CHUNK_BYTES):
        yield chunk
