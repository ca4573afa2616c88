"""Who is in the sandbox workspace: its ids, the bot's identity and token, the people, the channels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_BOT_TOKEN = "xoxb-test"
DEFAULT_APP_TOKEN = "xapp-1-A0QTSLACK-1-sandbox"
"""The app-level token `apps.connections.open` (Socket Mode) accepts."""
TEAM_ID = "T0TEAM"
TEAM_NAME = "QTslack Sandbox"
TEAM_DOMAIN = "qtslack-sandbox"
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"
BOT_USER_ID = "U0QTSLACK"
BOT_USER_NAME = "qtslack"
BOT_ID = "B0QTSLACK"
APP_ID = "A0QTSLACK"

BOT_SCOPES = (
    "chat:write,commands,channels:join,im:write,im:history,channels:history,groups:history,"
    "reactions:write,users:read,users:read.email,team:read,channels:read,groups:read,files:write"
)
"""Sent back in X-OAuth-Scopes (Bolt and `check` read it from auth.test): what an app
installed from the bot's manifest is granted, and team:read besides."""


@dataclass(frozen=True)
class SlackUser:
    """A member of the sandbox workspace, as users.info and users.lookupByEmail see them."""

    id: str
    name: str
    real_name: str = ""
    email: str | None = None
    tz: str = "America/New_York"
    is_admin: bool = False
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        """The user object in the shape of Slack's users.info."""
        now = datetime.now(ZoneInfo(self.tz))
        offset = now.utcoffset()
        real_name = self.real_name or self.name
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": TEAM_ID,
        }
        if self.email is not None:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": False,
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": profile,
        }


DEFAULT_USERS = (
    SlackUser("U0ALICE", "alice", "Alice Jones", "alice@example.com", "America/New_York"),
    SlackUser("U0BOB", "bob", "Bob Smith", "bob@example.com", "America/Chicago"),
)
DEFAULT_CHANNELS: Mapping[str, str] = {"C0GENERAL": "general", "C0SUPPORT": "support"}
BOT_USER = SlackUser(BOT_USER_ID, BOT_USER_NAME, "QTslack", is_bot=True)
