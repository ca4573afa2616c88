"""What Slack sends, each wire and shape, and hypothesis strategies that spoil it."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CANARY = "CANARY-7f3a9c"
"""Sits in every generated body: no log line may ever contain it."""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
"""Any JSON at all, as odd as hypothesis likes."""


def _slack_payloads() -> list[tuple[str, dict[str, Any]]]:
    """What Slack sends, by wire: interactions go as a `payload` form field, events as JSON."""
    user = {"id": "U0ALICE", "username": "alice", "team_id": "T0TEAM"}
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "sms_reply",
        "private_metadata": CANARY,
        "state": {"values": {"b": {"a": {"type": "plain_text_input", "value": CANARY}}}},
    }
    action = {"action_id": "call_back", "block_id": "b", "type": "button", "value": CANARY}
    return [
        (
            "payload",
            {
                "type": "block_actions",
                "user": user,
                "team": {"id": "T0TEAM"},
                "channel": {"id": "C0NOTIFY"},
                "container": {"type": "message", "message_ts": "1.2", "channel_id": "C0NOTIFY"},
                "message": {"ts": "1.2", "text": CANARY},
                "response_url": "http://127.0.0.1:9/response/x",
                "trigger_id": "1.2.3",
                "actions": [action],
            },
        ),
        (
            "payload",
            {"type": "view_submission", "user": user, "team": {"id": "T0TEAM"}, "view": view},
        ),
        ("payload", {"type": "view_closed", "user": user, "view": view}),
        ("payload", {"type": "shortcut", "callback_id": "x", "user": user, "trigger_id": "1"}),
        ("payload", {"type": "block_suggestion", "action_id": "a", "value": CANARY, "user": user}),
        (
            "json",
            {
                "type": "event_callback",
                "team_id": "T0TEAM",
                "event_id": "Ev1",
                "authorizations": [{"team_id": "T0TEAM", "user_id": "U0QTSLACK", "is_bot": True}],
                "event": {
                    "type": "message",
                    "channel": "C0NOTIFY",
                    "user": "U0ALICE",
                    "text": CANARY,
                    "ts": "1.3",
                    "thread_ts": "1.2",
                    "channel_type": "channel",
                },
            },
        ),
        (
            "json",
            {
                "type": "event_callback",
                "event": {
                    "type": "app_home_opened",
                    "user": "U0ALICE",
                    "tab": "home",
                    "view": view,
                },
            },
        ),
        ("json", {"type": "url_verification", "challenge": CANARY, "token": "t"}),
    ]


SLACK_PAYLOADS = _slack_payloads()


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` with one place in it deleted, emptied or replaced by any JSON at all."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        rest = {k: v for k, v in value.items() if k != key}
        operation = draw(st.sampled_from(["delete", "replace", "descend"]))
        if operation == "delete":
            return rest
        if operation == "replace":
            return {**rest, key: draw(json_values)}
        return {**rest, key: draw(mutated(value[key]))}
    if isinstance(value, list) and value and draw(st.booleans()):
        return draw(st.sampled_from([[], [draw(json_values)], [draw(mutated(value[0]))]]))
    return draw(json_values) if draw(st.booleans()) else value
