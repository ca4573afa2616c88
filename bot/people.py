"""Who a Slack user is: their name and email from `users.info`, remembered for a while.

Texts typed in Slack mention people by id (`<@U123>`), and the customer should read a name
(`bot.slack.markup.readable`); linking an extension compares its email with the person's Slack email.
One `People` per process (`Runtime.people`): a person is looked up once per `REMEMBER_SECONDS`,
not once per reply. A lookup Slack refuses is not remembered, and answers None.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

#: A renamed person shows by their new name within this long.
REMEMBER_SECONDS = 600.0
#: People remembered at once; a workspace's active members, not its directory.
REMEMBERED = 2048


@dataclass(frozen=True)
class Person:
    """A Slack user as others see them: the name their profile shows (display name, else
    real name, else handle) and their email (None without `users:read.email` or one set)."""

    id: str
    name: str
    email: str | None


class People:
    """Slack users by id, read with `users.info` and remembered (see the module)."""

    def __init__(self, slack: AsyncWebClient) -> None:
        self.slack = slack
        self._known: OrderedDict[str, tuple[float, Person]] = OrderedDict()

    async def get(self, user_id: str) -> Person | None:
        """The person, or None when Slack does not say (no such user, a refused call)."""
        now = time.monotonic()
        known = self._known.get(user_id)
        if known is not None and now - known[0] < REMEMBER_SECONDS:
            return known[1]
        try:
            answer = await self.slack.users_info(user=user_id)
        except SlackApiError as error:
            logger.warning("users.info failed: %s", error.response.get("error"))
            return None
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning("users.info failed: %s", type(error).__name__)
            return None
        person = _person(user_id, answer.get("user"))
        self._known[user_id] = (now, person)
        self._known.move_to_end(user_id)
        while len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        return person

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """The name of each of `user_ids` Slack knows (see `Person.name`)."""
        names: dict[str, str] = {}
        for user_id in user_ids:
            person = await self.get(user_id)
            if person is not None:
                names[user_id] = person.name
        return names


def _person(user_id: str, user: object) -> Person:
    """A users.info `user` object read tolerantly: a missing field is absent, never an error."""
    fields = user if isinstance(user, dict) else {}
    profile = fields.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    candidates = (
        profile.get("display_name"),
        profile.get("real_name"),
        fields.get("real_name"),
        fields.get("name"),
    )
    name = next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), user_id)
    email = profile.get("email")
    return Person(user_id, name, email if isinstance(email, str) and email else None)
