"""Slack's external file upload, as `files_upload_v2` drives it: three steps.

`files.getUploadURLExternal` (a name and a length in bytes) answers a file id and an upload
URL; the bytes are POSTed to that URL (this recorder serves it, `/upload/<file id>`);
`files.completeUploadExternal` then shares the uploaded files into a channel, in a thread
when given `thread_ts`, as one message from the bot carrying them. `files.info` answers a
file with its `shares`, which is how a client learns whether a completion it never heard
back from went through. A file shared once is not shared again by a second completion
(Slack answers it with an error), so a retry can never post it twice.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.slack.arguments import optional, required
from bot.sandbox.slack.errors import SlackError
from bot.sandbox.slack.team import BOT_USER_ID
from bot.sandbox.slack.workspace import Workspace

#: Slack's own ceiling for one file (1 GB).
LARGEST_FILE = 1_000_000_000


def files_get_upload_url_external(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    name = required(args, "filename")
    try:
        length = int(required(args, "length"))
    except ValueError:
        raise SlackError("invalid_arguments") from None
    if not 0 < length <= LARGEST_FILE:
        raise SlackError("invalid_arguments")
    file_id = f"F{len(workspace.files) + 1:08d}"
    workspace.files[file_id] = {
        "id": file_id,
        "name": name,
        "title": name,
        "size": length,
        "content": None,
        "shares": {},
    }
    return {"ok": True, "file_id": file_id, "upload_url": f"{workspace.upload_base}/{file_id}"}


def files_complete_upload_external(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    raw = args.get("files")
    listed = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(listed, list) or not listed:
        raise SlackError("invalid_arguments")
    files = []
    for entry in listed:
        file = workspace.files.get(str((entry or {}).get("id")))
        if file is None:
            raise SlackError("file_not_found")
        if file["content"] is None:
            raise SlackError("file_not_uploaded")
        if file["shares"]:
            raise SlackError("file_already_completed")
        files.append((file, entry.get("title")))
    channel_id = optional(args, "channel_id")
    thread_ts = optional(args, "thread_ts")
    channel = workspace.conversation(channel_id) if channel_id else None
    for file, title in files:
        file["title"] = title or file["name"]
    if channel is not None:
        message = workspace.add_message(
            channel,
            {"text": optional(args, "initial_comment") or ""},
            user=BOT_USER_ID,
            from_bot=True,
            thread_ts=thread_ts,
        )
        message["files"] = [shown(file) for file, _ in files]
        kind = "private" if channel.startswith(("G", "D")) else "public"
        for file, _ in files:
            share = {"ts": message["ts"], "thread_ts": message.get("thread_ts")}
            file["shares"].setdefault(kind, {}).setdefault(channel, []).append(share)
    return {"ok": True, "files": [shown(file) for file, _ in files]}


def files_info(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    file = workspace.files.get(required(args, "file"))
    if file is None:
        raise SlackError("file_not_found")
    return {"ok": True, "file": shown(file)}


def shown(file: dict[str, Any]) -> dict[str, Any]:
    """A file as the Web API shows it: everything but its bytes."""
    return {key: value for key, value in file.items() if key != "content"}


def receive_upload(workspace: Workspace, file_id: str, content: bytes) -> bool:
    """The bytes POSTed to a file's upload URL; whether the URL names a file to upload."""
    file = workspace.files.get(file_id)
    if file is None or file["content"] is not None:
        return False
    file["content"], file["size"] = content, len(content)
    return True


FILE_METHODS = {
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "files.info": files_info,
}
