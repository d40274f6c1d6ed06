"""Summarised context (issue 17, part 3), through the real SDK against the wire server.

Every message and reply here is 40 characters (11 estimated tokens, so an exchange is 22),
and ``CHAT_CONTEXT_TOKENS`` is 99 once the conversation is six exchanges long: a turn may
send 88 tokens of history and summary. Planning (``services/chat/context.py``): when a
summary is wanted, enough older exchanges are folded into it that the rest fit half the
budget (two exchanges), so the next turn can reuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import ChatSummary
from chatapp.services.chat.context import SUMMARY_HEADING
from tests.support.clients import ApiUser, AuthActions
from tests.support.data import sse_events
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.turns import contents, summary_requests, turns

pytestmark = pytest.mark.wire_model(RATELIMIT_ENABLED=False)
SMALL_CONTEXT = 99


def message(n: int) -> str:
    """The user's ``n``th message (40 characters)."""
    return f"message {n} ".ljust(40, "m")


def reply(n: int) -> str:
    """The model's ``n``th reply (40 characters)."""
    return f"reply {n} ".ljust(40, "r")


def exchanges(*numbers: int) -> list[tuple[str, str]]:
    """The turns of the numbered exchanges, as the model is sent them."""
    return [turn for n in numbers for turn in (("user", message(n)), ("model", reply(n)))]


class Chat:
    """One conversation of alice's, with the wire server's replies scripted turn by turn."""

    def __init__(self, user: ApiUser, wire: GeminiWireServer) -> None:
        self.user = user
        self.wire = wire
        self.session_id: str | None = None

    def say(self, n: int, summary: str | None = None, stream: bool = False) -> None:
        """Send message ``n``, answered by reply ``n`` (after ``summary``, when one is due)."""
        if summary is not None:
            self.wire.script(Reply(text=summary))
        self.wire.script(Reply(text=reply(n)))
        body = {"message": message(n), "sessionId": self.session_id}
        if stream:
            response = self.user.call("POST", "/api/v1/chat/message/stream", body)
            assert sse_events(response)[-1]["type"] == "end"
            self.session_id = sse_events(response)[0]["sessionId"]
        else:
            response = self.user.send(message(n), self.session_id)
            assert response.status_code == 200, response.json
            self.session_id = response.json["sessionId"]
        assert self.wire.pending == 0

    def summary(self) -> Any:
        """The conversation's ``summary`` field."""
        return self.user.session(self.session_id).json["summary"]

    def message_ids(self) -> list[int]:
        """The ids of the conversation's messages, in order."""
        return [m["id"] for m in self.user.session(self.session_id, limit=100).json["messages"]]


def six_exchanges(app: Flask, chat: Chat) -> None:
    """Six exchanges within the default budget, then the budget made small."""
    for n in range(1, 7):
        chat.say(n)
    app.config["CHAT_CONTEXT_TOKENS"] = SMALL_CONTEXT


def instruction(summary: str) -> str:
    """The system instruction of a turn that sends ``summary``."""
    return f"{SUMMARY_HEADING}\n{summary}"


def summarised(record: Any) -> str:
    """The text a summary request asks to summarise."""
    [(role, text)] = contents(record)
    assert role == "user"
    return text


def stored_summaries(app: Flask) -> int:
    """How many summaries are stored."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ChatSummary)) or 0


@pytest.fixture
def chat(alice: ApiUser, wire: GeminiWireServer) -> Chat:
    """alice's conversation."""
    return Chat(alice, wire)


def test_older_turns_are_summarised_reused_and_updated_incrementally(
    app: Flask, wire: GeminiWireServer, chat: Chat
) -> None:
    """Past the budget the older exchanges are sent as a summary ahead of the kept turns;
    the next turn reuses it with no model call; when more falls out, the new summary is
    made from the previous one and the newly dropped exchanges only."""
    six_exchanges(app, chat)
    assert chat.summary() is None  # six exchanges fitted the default budget

    chat.say(7, summary="First summary.")
    [first] = summary_requests(wire)
    asked = summarised(first)
    assert all(message(n) in asked and reply(n) in asked for n in range(1, 5))
    assert message(5) not in asked and reply(5) not in asked and "Summary so far" not in asked
    assert contents(turns(wire)[-1]) == [*exchanges(5, 6), ("user", message(7))]
    assert wire.system_instruction(-1) == instruction("First summary.")
    ids = chat.message_ids()
    summary = chat.summary()
    assert summary["content"] == "First summary."
    assert summary["throughMessageId"] == ids[7]  # reply 4
    assert summary["createdAt"]

    chat.say(8)  # exchanges 5-7 still fit beside the summary: no new summary
    assert len(summary_requests(wire)) == 1
    assert contents(turns(wire)[-1]) == [*exchanges(5, 6, 7), ("user", message(8))]
    assert wire.system_instruction(-1) == instruction("First summary.")

    chat.say(9, summary="Second summary.", stream=True)
    second = summarised(summary_requests(wire)[-1])
    assert second.startswith("Summary so far:\nFirst summary.")
    assert all(message(n) in second and reply(n) in second for n in (5, 6))
    assert not any(message(n) in second for n in (1, 2, 3, 4, 7, 8))
    assert contents(turns(wire)[-1]) == [*exchanges(7, 8), ("user", message(9))]
    assert wire.system_instruction(-1) == instruction("Second summary.")
    assert chat.summary()["throughMessageId"] == chat.message_ids()[11]  # reply 6
    assert stored_summaries(app) == 2


def test_a_failed_summary_drops_the_older_turns_and_the_turn_succeeds(
    app: Flask, wire: GeminiWireServer, chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    """The model refusing the summary request never fails the turn: the newest exchanges
    that fit are sent without a summary, nothing is stored, a warning is logged."""
    six_exchanges(app, chat)

    chat.wire.script(Reply(status=400, message="no summaries today"))
    chat.say(7)

    assert len(summary_requests(wire)) == 1
    assert contents(turns(wire)[-1]) == [*exchanges(3, 4, 5, 6), ("user", message(7))]
    assert wire.system_instruction(-1) is None
    assert stored_summaries(app) == 0
    assert chat.summary() is None
    assert "Could not summarise" in caplog.text
    assert chat.user.session(chat.session_id).json["messages"][-1]["content"] == reply(7)


def test_another_instance_sends_the_stored_summary(
    app: Flask,
    wire: GeminiWireServer,
    chat: Chat,
    make_worker: Callable[..., Flask],
) -> None:
    """The summary is stored, not kept by the worker that wrote it: another app instance
    on the same database sends it with no summary request of its own."""
    six_exchanges(app, chat)
    chat.say(7, summary="Stored summary.")
    other = make_worker(CHAT_CONTEXT_TOKENS=SMALL_CONTEXT, RATELIMIT_ENABLED=False)
    headers = AuthActions(other, other.test_client()).headers("alice")
    elsewhere = Chat(ApiUser(other.test_client(), headers), wire)
    elsewhere.session_id = chat.session_id

    elsewhere.say(8)

    assert len(summary_requests(wire)) == 1
    assert wire.system_instruction(-1) == instruction("Stored summary.")
    assert contents(turns(wire)[-1]) == [*exchanges(5, 6, 7), ("user", message(8))]
    assert elsewhere.summary()["content"] == "Stored summary."


@pytest.mark.wire_model(CHAT_SUMMARIES=False, RATELIMIT_ENABLED=False)
def test_with_summaries_off_nothing_is_summarised(
    app: Flask, wire: GeminiWireServer, chat: Chat
) -> None:
    """``CHAT_SUMMARIES = False``: older turns are dropped as before, and none is shown."""
    six_exchanges(app, chat)
    chat.say(7)

    assert summary_requests(wire) == []
    assert contents(turns(wire)[-1]) == [*exchanges(3, 4, 5, 6), ("user", message(7))]
    assert chat.summary() is None


def test_a_summary_follows_a_personality_in_the_instruction(
    app: Flask, wire: GeminiWireServer, chat: Chat
) -> None:
    """A conversation's own system prompt comes first, then the summary."""
    six_exchanges(app, chat)
    wire.script(Reply(text="Coached summary."), Reply(text=reply(7)))
    response = chat.user.call(
        "POST",
        "/api/v1/chat/message",
        {"message": message(7), "sessionId": chat.session_id, "personalityId": "coach"},
    )
    assert response.status_code == 200, response.json
    system = wire.system_instruction(-1)
    assert system is not None
    coach, summary = system.split(f"\n\n{SUMMARY_HEADING}\n")
    assert coach and summary == chat.summary()["content"] == "Coached summary."


def test_branches_share_the_summary_of_the_prefix_they_share(
    app: Flask, wire: GeminiWireServer, chat: Chat
) -> None:
    """A summary is keyed by the last message it covers: a branch through that message
    sends it, a branch that left the path before the newest summary's message sends the
    one before (never merely the conversation's newest), and switching back (or
    regenerating there) sends the newest again."""
    six_exchanges(app, chat)
    chat.say(7, summary="Through reply 4.")
    chat.say(8)
    chat.say(9, summary="Through reply 6.")
    ids = chat.message_ids()
    assert chat.summary()["throughMessageId"] == ids[11]  # reply 6

    wire.script(Reply(text="reply to the new message 6"))
    edited = chat.user.call(
        "POST",
        f"/api/v1/chat/session/{chat.session_id}/edit",
        {"messageId": ids[10], "message": "a new message 6"},
    )

    assert edited.status_code == 200, edited.json
    assert len(summary_requests(wire)) == 2  # none new: the branch shares reply 4's
    assert wire.system_instruction(-1) == instruction("Through reply 4.")
    assert contents(turns(wire)[-1]) == [*exchanges(5), ("user", "a new message 6")]
    assert chat.summary() == {
        "content": "Through reply 4.",
        "throughMessageId": ids[7],
        "createdAt": chat.summary()["createdAt"],
    }

    switched = chat.user.call(
        "POST", f"/api/v1/chat/session/{chat.session_id}/switch", {"messageId": ids[-1]}
    )
    assert switched.status_code == 200, switched.json
    assert switched.json["summary"]["content"] == "Through reply 6."
    chat.say(10)
    assert wire.system_instruction(-1) == instruction("Through reply 6.")
    assert len(summary_requests(wire)) == 2

    wire.script(Reply(text="another reply 10"))
    regenerated = chat.user.call(
        "POST",
        f"/api/v1/chat/session/{chat.session_id}/regenerate",
        {"messageId": chat.message_ids()[-1]},
    )
    assert regenerated.status_code == 200, regenerated.json
    assert wire.system_instruction(-1) == instruction("Through reply 6.")
    assert contents(turns(wire)[-1]) == [*exchanges(7, 8, 9), ("user", message(10))]
    assert len(summary_requests(wire)) == 2
