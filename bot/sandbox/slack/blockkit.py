"""What Slack accepts in a post or a view: Block Kit's limits and the other checks on content.

A refused post answers as Slack does, with `invalid_blocks` (or `invalid_arguments` for a view)
and one "[ERROR] ... [json-pointer:...]" message per problem, so a bot's own limits are tested
against the real ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack.errors import SlackError

MAX_MESSAGE_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000

_TEXT_LIMITS = {"section": 3000, "header": 150, "button": 75}
"""Longest `text.text` Slack accepts in each kind of block element."""
_STRING_LIMITS = {"value": 2000, "action_id": 255, "block_id": 255, "url": 3000}
_ELEMENT_LIMITS = {"actions": 25, "context": 10}


def problem(text: str, pointer: str) -> str:
    return f"[ERROR] {text} [json-pointer:{pointer}]"


def _node_problems(node: Mapping[str, Any], pointer: str) -> list[str]:
    """Slack's limits on one block or element: the ones a bot most often runs into."""
    problems: list[str] = []
    kind = node.get("type")
    if kind in ("plain_text", "mrkdwn") and not node.get("text"):
        problems.append(problem("must be more than 0 characters", f"{pointer}/text"))
    text = node.get("text")
    if kind in _TEXT_LIMITS and isinstance(text, Mapping):
        limit = _TEXT_LIMITS[str(kind)]
        if len(str(text.get("text", ""))) > limit:
            problems.append(
                problem(f"must be less than {limit + 1} characters", f"{pointer}/text/text")
            )
    for key, limit in _STRING_LIMITS.items():
        value = node.get(key)
        if isinstance(value, str) and len(value) > limit:
            problems.append(
                problem(f"must be less than {limit + 1} characters", f"{pointer}/{key}")
            )
    elements = node.get("elements")
    if kind in _ELEMENT_LIMITS and isinstance(elements, list):
        limit = _ELEMENT_LIMITS[str(kind)]
        if len(elements) > limit:
            problems.append(problem(f"no more than {limit} items allowed", f"{pointer}/elements"))
    fields = node.get("fields")
    if kind == "section" and isinstance(fields, list) and len(fields) > 10:
        problems.append(problem("no more than 10 items allowed", f"{pointer}/fields"))
    for key, child in node.items():
        problems.extend(_child_problems(child, f"{pointer}/{key}"))
    return problems


def _child_problems(child: Any, pointer: str) -> list[str]:
    if isinstance(child, Mapping):
        return _node_problems(child, pointer)
    if isinstance(child, list):
        return [p for i, item in enumerate(child) for p in _child_problems(item, f"{pointer}/{i}")]
    return []


def _block_problems(blocks: Any, *, limit: int, pointer: str = "/blocks") -> list[str]:
    if not isinstance(blocks, list):
        return [problem("must be an array", pointer)]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(problem(f"no more than {limit} items allowed", pointer))
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            problems.append(problem("missing required field: type", where))
            continue
        block_id = block.get("block_id")
        if block_id in block_ids:
            problems.append(problem(f"duplicate block_id: {block_id}", f"{where}/block_id"))
        if isinstance(block_id, str):
            block_ids.add(block_id)
        problems.extend(_node_problems(block, where))
    return problems


def _plain_text_problems(view: Mapping[str, Any], key: str, *, required: bool) -> list[str]:
    value = view.get(key)
    if value is None:
        return [problem(f"missing required field: {key}", f"/view/{key}")] if required else []
    if not isinstance(value, Mapping) or value.get("type") != "plain_text":
        return [problem("must be a plain_text object", f"/view/{key}")]
    if len(str(value.get("text", ""))) > MAX_VIEW_TITLE:
        return [problem(f"must be less than {MAX_VIEW_TITLE + 1} characters", f"/view/{key}/text")]
    return []


def view_problems(view: Any) -> list[str]:
    if not isinstance(view, Mapping):
        return [problem("must provide an object", "/view")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [problem("must be one of: modal, home", "/view/type")]
    problems = _block_problems(view.get("blocks"), limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if kind == "modal":
        problems += _plain_text_problems(view, "title", required=True)
        problems += _plain_text_problems(view, "submit", required=False)
        problems += _plain_text_problems(view, "close", required=False)
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        problems.append(problem("must be less than 3001 characters", "/view/private_metadata"))
    if len(str(view.get("callback_id", ""))) > _STRING_LIMITS["action_id"]:
        problems.append(problem("must be less than 256 characters", "/view/callback_id"))
    return problems


def message_content(args: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The text, blocks, attachments and metadata of a post, checked as Slack checks them.

    `partial` (chat.update) returns only what the call changes: Slack keeps the rest.
    """
    content = {name: args[name] for name in ("text", "blocks", "attachments") if name in args}
    if "metadata" in args:
        content["metadata"] = args["metadata"]
    if not any(content.get(name) for name in ("text", "blocks", "attachments")) and not (
        partial and content
    ):
        raise SlackError("no_text")
    if len(str(content.get("text") or "")) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    if content.get("blocks") is not None:
        problems = _block_problems(content["blocks"], limit=MAX_MESSAGE_BLOCKS)
        if problems:
            raise SlackError("invalid_blocks", problems)
    if content.get("attachments") is not None and not isinstance(content["attachments"], list):
        raise SlackError("invalid_attachments")
    metadata = content.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, Mapping) and "event_type" in metadata and "event_payload" in metadata
    ):
        raise SlackError("invalid_metadata_format")
    if "text" in content:
        content["text"] = str(content["text"] or "")
    return content
