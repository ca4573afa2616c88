"""The Web API methods the sandbox answers, by Slack's method name: one function each.

Each takes the workspace and the call's arguments and returns Slack's answer, or raises
`SlackError`. Each checks all its arguments before it changes anything, so a call that fails
leaves the workspace as it was.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox.slack.arguments import flag, optional, required
from bot.sandbox.slack.blockkit import message_content, problem, view_problems
from bot.sandbox.slack.errors import SlackError, missing
from bot.sandbox.slack.files import FILE_METHODS
from bot.sandbox.slack.messages import in_window, is_top_level, paginate, public
from bot.sandbox.slack.team import (
    BOT_ID,
    BOT_USER_ID,
    BOT_USER_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
)
from bot.sandbox.slack.workspace import USER_ID, Workspace, render_view

Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]

# --- apps.* / auth.* / team.* / users.* ------------------------------------------------------


def auth_test(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "url": TEAM_URL,
        "team": TEAM_NAME,
        "user": BOT_USER_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def team_info(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    team = {
        "id": TEAM_ID,
        "name": TEAM_NAME,
        "url": TEAM_URL,
        "domain": TEAM_DOMAIN,
        "email_domain": "example.com",
        "icon": {"image_default": True},
        "is_verified": False,
    }
    return {"ok": True, "team": team}


def users_info(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = workspace.users.get(required(args, "user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": user.to_api()}


def users_lookup_by_email(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    email = required(args, "email").lower()
    for user in workspace.users.values():
        if user.email is not None and user.email.lower() == email:
            return {"ok": True, "user": user.to_api()}
    raise SlackError("users_not_found")


# --- chat.* ----------------------------------------------------------------------------------


def chat_post_message(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = workspace.conversation(args.get("channel"), allow_user=True)
    if channel in workspace.bot_absent:
        raise SlackError("not_in_channel")
    content = message_content(args)
    message = workspace.add_message(
        channel,
        content,
        user=BOT_USER_ID,
        from_bot=True,
        thread_ts=optional(args, "thread_ts"),
        reply_broadcast=flag(args, "reply_broadcast"),
    )
    shown = public(message, with_metadata=True)
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": shown}


def chat_update(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = workspace.conversation(args.get("channel"))
    message = workspace.bot_message(channel, required(args, "ts"), refusal="cant_update_message")
    content = message_content(args, partial=True)
    if "text" in content and "blocks" not in content:
        content["blocks"] = []  # Slack's chat.update: text without blocks removes the blocks
    workspace.update(message, content)
    return {
        "ok": True,
        "channel": channel,
        "ts": message["ts"],
        "text": message["text"],
        "message": public(message, with_metadata=True),
    }


def chat_post_ephemeral(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = workspace.conversation(args.get("channel"))
    user = required(args, "user")
    if not USER_ID.fullmatch(user):
        raise SlackError("user_not_in_channel")
    content = message_content(args)
    ts = workspace.next_ts()
    workspace.ephemerals.append(
        {"channel": channel, "user": user, "ts": ts, "thread_ts": optional(args, "thread_ts")}
        | content
    )
    return {"ok": True, "message_ts": ts}


def chat_delete(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = workspace.conversation(args.get("channel"))
    message = workspace.bot_message(channel, required(args, "ts"), refusal="cant_delete_message")
    workspace.remove(channel, message)
    return {"ok": True, "channel": channel, "ts": message["ts"]}


def chat_get_permalink(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = workspace.conversation(args.get("channel"))
    message = workspace.find(channel, required(args, "message_ts"))
    permalink = f"{TEAM_URL}archives/{channel}/p{message['ts'].replace('.', '')}"
    if not is_top_level(message):
        permalink += f"?thread_ts={message['thread_ts']}&cid={channel}"
    return {"ok": True, "channel": channel, "permalink": permalink}


# --- conversations.* -------------------------------------------------------------------------


def _conversation_info(workspace: Workspace, channel: str) -> dict[str, Any]:
    if channel.startswith("D"):
        return {
            "id": channel,
            "created": int(time.time()),
            "is_im": True,
            "is_org_shared": False,
            "user": channel[1:],
            "is_user_deleted": False,
            "priority": 0,
        }
    private = channel.startswith("G")
    name = workspace.channel_name(channel)
    return {
        "id": channel,
        "name": name,
        "name_normalized": name,
        "created": int(time.time()),
        "creator": "U0ALICE",
        "is_channel": not private,
        "is_group": private,
        "is_im": False,
        "is_mpim": False,
        "is_private": private,
        "is_archived": False,
        "is_general": name == "general",
        "is_member": channel not in workspace.bot_absent,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }


def conversations_open(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if optional(args, "channel") is not None:
        channel = workspace.conversation(args["channel"])
    else:
        raw_users = args.get("users") or ""
        joined = ",".join(raw_users) if isinstance(raw_users, list) else str(raw_users)
        users = [user.strip() for user in joined.split(",") if user.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if not all(USER_ID.fullmatch(user) for user in users):
            raise SlackError("user_not_found")
        if len(users) > 8:
            raise SlackError("too_many_users")
        channel = (
            workspace.im_channel(users[0]) if len(users) == 1 else "G" + "".join(sorted(users))
        )
    body: dict[str, Any] = {"ok": True, "channel": {"id": channel}}
    if channel in workspace.open_conversations:
        body |= {"no_op": True, "already_open": True}
    workspace.open_conversations.add(channel)
    if flag(args, "return_im"):
        body["channel"] = _conversation_info(workspace, channel)
    return body


def conversations_info(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """A private channel is invisible to a bot that is not in it: Slack says channel_not_found."""
    channel = workspace.conversation(args.get("channel"))
    if channel.startswith("G") and channel in workspace.bot_absent:
        raise SlackError("channel_not_found")
    return {"ok": True, "channel": _conversation_info(workspace, channel)}


def conversations_join(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """Public channels only, as in Slack; a private one must invite the bot."""
    channel = workspace.conversation(args.get("channel"))
    if not channel.startswith("C"):
        raise SlackError("method_not_supported_for_channel_type")
    workspace.bot_absent.discard(channel)
    return {"ok": True, "channel": _conversation_info(workspace, channel)}


def conversations_history(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = workspace.conversation(args.get("channel"))
    newest_first = [m for m in reversed(workspace.history(channel)) if is_top_level(m)]
    page, next_cursor = paginate(in_window(newest_first, args), args, newest_first=True)
    with_metadata = flag(args, "include_all_metadata")
    return {
        "ok": True,
        "messages": [public(message, with_metadata=with_metadata) for message in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_replies(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = workspace.conversation(args.get("channel"))
    message = workspace.find(channel, required(args, "ts"), error="thread_not_found")
    thread = workspace.thread(channel, message.get("thread_ts") or message["ts"])
    page, next_cursor = paginate(in_window(thread, args), args, newest_first=False)
    with_metadata = flag(args, "include_all_metadata")
    return {
        "ok": True,
        "messages": [public(message, with_metadata=with_metadata) for message in page],
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


# --- reactions.* -----------------------------------------------------------------------------


def _reaction_target(workspace: Workspace, args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    channel = workspace.conversation(args.get("channel"))
    message = workspace.find(channel, required(args, "timestamp"))
    return message, required(args, "name").strip(":")


def reactions_add(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    message, name = _reaction_target(workspace, args)
    reaction = next((r for r in message["reactions"] if r["name"] == name), None)
    if reaction is None:
        message["reactions"].append({"name": name, "users": [BOT_USER_ID], "count": 1})
    elif BOT_USER_ID in reaction["users"]:
        raise SlackError("already_reacted")
    else:
        reaction["users"].append(BOT_USER_ID)
        reaction["count"] += 1
    return {"ok": True}


def reactions_remove(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    message, name = _reaction_target(workspace, args)
    reaction = next((r for r in message["reactions"] if r["name"] == name), None)
    if reaction is None or BOT_USER_ID not in reaction["users"]:
        raise SlackError("no_reaction")
    reaction["users"].remove(BOT_USER_ID)
    reaction["count"] -= 1
    if not reaction["users"]:
        message["reactions"].remove(reaction)
    return {"ok": True}


# --- views.* ---------------------------------------------------------------------------------


def _checked_view(args: Mapping[str, Any]) -> Mapping[str, Any]:
    view: Mapping[str, Any] | None = args.get("view")
    if view is None:
        raise missing("view")
    problems = view_problems(view)
    if problems:
        raise SlackError("invalid_arguments", problems)
    return view


def _open_view(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _checked_view(args)
    trigger = workspace.use_trigger(required(args, "trigger_id"))
    if view["type"] != "modal":
        raise SlackError("invalid_arguments", [problem("must be modal", "/view/type")])
    trigger.used = True
    rendered = render_view(view, workspace.new_view_id())
    workspace.views[rendered["id"]] = rendered
    workspace.view_users[rendered["id"]] = trigger.user_id
    workspace.opened_view_ids.append(rendered["id"])
    return {"ok": True, "view": copy.deepcopy(rendered)}


def views_open(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return _open_view(workspace, args)


def views_push(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return _open_view(workspace, args)


def views_update(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    existing = workspace.find_view(args)
    view = _checked_view(args)
    expected_hash = optional(args, "hash")
    if expected_hash is not None and expected_hash != existing["hash"]:
        raise SlackError("hash_conflict")
    existing.update(render_view(view, existing["id"]))
    return {"ok": True, "view": copy.deepcopy(existing)}


def views_publish(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = required(args, "user_id")
    if not USER_ID.fullmatch(user):
        raise SlackError("user_not_found")
    view = _checked_view(args)
    if view["type"] != "home":
        raise SlackError("invalid_arguments", [problem("must be home", "/view/type")])
    earlier = workspace.published.get(user)
    expected_hash = optional(args, "hash")
    if expected_hash is not None and earlier and expected_hash != earlier[-1]["hash"]:
        raise SlackError("hash_conflict")
    rendered = render_view(view, earlier[-1]["id"] if earlier else workspace.new_view_id())
    workspace.published.setdefault(user, []).append(rendered)
    return {"ok": True, "view": copy.deepcopy(rendered)}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "team.info": team_info,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.join": conversations_join,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
    **FILE_METHODS,
}
"""Every method the sandbox knows; any other answers `unknown_method`."""
