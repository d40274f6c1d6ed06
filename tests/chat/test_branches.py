"""Edit, regenerate and switch (issue 17): a conversation is a tree, one path of it active.

Each test asserts what a user notices: the messages ``GET /chat/session/<id>`` shows, their
versions (``siblingIndex``/``siblingCount``), and what the model was sent.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession
from tests.support.app import build_app, close_app, wire_config
from tests.support.branches import Conversation
from tests.support.clients import ApiUser
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.statements import Recorder
from tests.support.turns import contents, turns

pytestmark = pytest.mark.wire_model


def echo(text: str, turns_sent: int) -> str:
    """The wire server's default reply."""
    return f"Echo: {text} (turns={turns_sent})"


def versions(message: dict[str, Any]) -> tuple[int, int]:
    """A message's ``(siblingIndex, siblingCount)``."""
    return message["siblingIndex"], message["siblingCount"]


# --- regenerate ---------------------------------------------------------------------------


def test_regenerate_adds_a_reply_and_keeps_the_old_one(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """A regenerated reply is a new version next to the old one, from the path above it."""
    chat = Conversation.start(alice, "one", "two")
    old = chat.find(echo("one", 1))

    wire.script(Reply(text="another answer"))
    reply = chat.regenerate(old["id"])

    assert reply["response"] == "another answer"
    assert contents(turns(wire)[-1]) == [("user", "one")]
    assert chat.texts() == ["one", "another answer"]
    new = chat.messages()[-1]
    assert new["id"] == reply["messageId"]
    assert new["parentId"] == old["parentId"] == chat.find("one")["id"]
    assert versions(new) == (1, 2)

    back = chat.switch(old["id"])
    assert [m["content"] for m in back["messages"]] == [
        "one",
        old["content"],
        "two",
        echo("two", 3),
    ]
    assert versions(back["messages"][1]) == (0, 2)


def test_a_turn_after_regenerating_continues_from_the_new_reply(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """The next message goes below the regenerated reply, and the model sees that path."""
    chat = Conversation.start(alice, "one", "two", "three")
    wire.script(Reply(text="two again"))
    chat.regenerate(chat.find(echo("two", 3))["id"])

    chat.send("four")

    assert contents(turns(wire)[-1]) == [
        ("user", "one"),
        ("model", echo("one", 1)),
        ("user", "two"),
        ("model", "two again"),
        ("user", "four"),
    ]
    assert chat.texts()[-2:] == ["four", echo("four", 5)]


def test_regenerate_streams_like_a_message(wire: GeminiWireServer, alice: ApiUser) -> None:
    """``/regenerate/stream`` answers with the events of ``/chat/message/stream``."""
    chat = Conversation.start(alice, "one")
    wire.script(Reply(text="streamed again"))

    events = chat.stream("regenerate", messageId=chat.messages()[1]["id"])

    assert events[0]["type"] == "start"
    end = events[-1]
    assert end["type"] == "end" and end["content"] == "streamed again"
    assert chat.messages()[-1]["id"] == end["messageId"]
    assert versions(chat.messages()[-1]) == (1, 2)


def test_a_failed_regeneration_leaves_the_conversation_as_it_was(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """The model failing changes nothing the user sees; the message is not marked failed."""
    chat = Conversation.start(alice, "one", "two")
    before = chat.messages()

    wire.script(Reply(status=500))
    failed = chat.call("regenerate", messageId=before[1]["id"])

    assert failed.status_code >= 500
    assert chat.messages() == before
    chat.send("three")
    assert contents(turns(wire)[-1])[:4] == [(m[0], m[1]) for m in chat.model_turns()[:4]]
    assert len(contents(turns(wire)[-1])) == 5


def test_a_failed_regeneration_of_an_older_version_stays_on_its_branch(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Regenerating an older reply (switched back to) that fails leaves that older reply
    shown: the path moves to the new version only once it is stored."""
    chat = Conversation.start(alice, "one")
    first = chat.messages()[1]
    assert chat.call("regenerate", messageId=first["id"]).status_code == 200
    assert chat.call("switch", messageId=first["id"]).status_code == 200
    before = chat.messages()
    assert before[1]["id"] == first["id"]

    wire.script(Reply(status=500))
    assert chat.call("regenerate", messageId=first["id"]).status_code >= 500

    assert chat.messages() == before


# --- edit ---------------------------------------------------------------------------------


def test_edit_adds_a_message_and_keeps_what_followed_the_old_one(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """An edit is a new version of the message with its own reply; the old branch stays."""
    chat = Conversation.start(alice, "one", "two", "three")
    two = chat.find("two")

    reply = chat.edit(two["id"], "TWO")

    assert contents(turns(wire)[-1]) == [
        ("user", "one"),
        ("model", echo("one", 1)),
        ("user", "TWO"),
    ]
    assert chat.texts() == ["one", echo("one", 1), "TWO", reply["response"]]
    edited = chat.find("TWO")
    assert edited["parentId"] == two["parentId"]
    assert versions(edited) == (1, 2)

    chat.switch(two["id"])
    assert chat.texts() == ["one", echo("one", 1), "two", echo("two", 3), "three", echo("three", 5)]
    chat.send("four")
    assert [text for _, text in contents(turns(wire)[-1])] == [*chat.texts()[:-1]]


def test_editing_the_first_message_starts_a_new_tree_root(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """The first message has versions too; the model sees only the new one."""
    chat = Conversation.start(alice, "one", "two")

    chat.edit(chat.find("one")["id"], "ONE")

    assert contents(turns(wire)[-1]) == [("user", "ONE")]
    assert chat.texts() == ["ONE", echo("ONE", 1)]
    first = chat.messages()[0]
    assert first["parentId"] is None and versions(first) == (1, 2)
    chat.send("next")
    assert contents(turns(wire)[-1]) == [
        ("user", "ONE"),
        ("model", echo("ONE", 1)),
        ("user", "next"),
    ]


def test_edit_streams_like_a_message(wire: GeminiWireServer, alice: ApiUser) -> None:
    """``/edit/stream`` stores the new message, streams its reply and ends with its id."""
    chat = Conversation.start(alice, "one")

    events = chat.stream("edit", messageId=chat.find("one")["id"], message="uno")

    assert events[-1]["type"] == "end"
    assert chat.texts() == ["uno", events[-1]["content"]]
    assert chat.messages()[-1]["id"] == events[-1]["messageId"]


def test_a_failed_edit_is_kept_as_a_failed_message_the_model_never_sees(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Like a failed send: the new version stays, failed, and later turns leave it out."""
    chat = Conversation.start(alice, "one", "two")
    wire.script(Reply(status=500))

    failed = chat.call("edit", messageId=chat.find("two")["id"], message="broken")

    assert failed.status_code >= 500
    assert [(m["content"], m["status"]) for m in chat.messages()][-1] == ("broken", "failed")
    chat.send("again")
    assert contents(turns(wire)[-1]) == [
        ("user", "one"),
        ("model", echo("one", 1)),
        ("user", "again"),
    ]


# --- switch and reading the active path ----------------------------------------------------


def test_switch_follows_the_newest_version_below_the_message(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Switching to a message shows its ancestors, then the newest child at each step."""
    chat = Conversation.start(alice, "one", "two")
    first_reply = chat.find(echo("one", 1))
    wire.script(Reply(text="one again"))
    chat.regenerate(first_reply["id"])

    shown = chat.switch(chat.find("one")["id"])
    assert [m["content"] for m in shown["messages"]] == ["one", "one again"]
    assert chat.texts() == ["one", "one again"]  # remembered

    chat.switch(first_reply["id"])
    assert chat.texts() == ["one", echo("one", 1), "two", echo("two", 3)]


def test_paging_walks_the_active_path(wire: GeminiWireServer, alice: ApiUser) -> None:
    """``before=`` pages go back along the active path, never into another branch."""
    chat = Conversation.start(alice, "a", "b", "c")
    chat.edit(chat.find("b")["id"], "B")
    chat.send("d")
    chat.send("e")
    path = chat.texts()

    seen: list[str] = []
    page = alice.session(chat.id, limit=3).json
    while True:
        seen = [m["content"] for m in page["messages"]] + seen
        if not page["has_more"]:
            break
        before = page["messages"][0]["id"]
        page = alice.session(chat.id, limit=3, before=before).json

    assert seen == path
    assert "b" not in seen and "c" not in seen


def test_seed_routes_show_the_active_path(wire: GeminiWireServer, alice: ApiUser) -> None:
    """Seed 000/001/002's history routes return the active path in their own shapes."""
    chat = Conversation.start(alice, "one", "two")
    chat.edit(chat.find("two")["id"], "TWO")
    path = chat.texts()

    legacy = alice.call("GET", f"/history/alice/{chat.id}").json["history"]
    assert [m["content"] for m in legacy] == path
    assert [m["siblingCount"] for m in legacy] == [1, 1, 2, 1]
    seed = alice.call("GET", f"/api/chat/history/{chat.id}").json
    assert [m["content"] for m in seed["messages"]] == path
    sessions = alice.call("GET", "/api/users/alice/sessions").json
    assert [m["content"] for m in sessions[0]["messages"]] == path


# --- refusals -----------------------------------------------------------------------------


def test_wrong_messages_are_refused_and_change_nothing(
    wire: GeminiWireServer, alice: ApiUser, bob: ApiUser
) -> None:
    """A user message to regenerate, a reply to edit, another conversation's message: 4xx."""
    chat = Conversation.start(alice, "one")
    other = Conversation.start(alice, "elsewhere")
    user_id, reply_id = (m["id"] for m in chat.messages())
    before = chat.messages()
    requests = len(wire.requests)

    refusals = [
        (chat.call("regenerate", messageId=user_id), 400, "WRONG_MESSAGE_ROLE"),
        (chat.call("edit", messageId=reply_id, message="x"), 400, "WRONG_MESSAGE_ROLE"),
        (chat.call("regenerate", messageId=other.messages()[1]["id"]), 404, "NOT_FOUND"),
        (chat.call("edit", messageId=other.messages()[0]["id"], message="x"), 404, "NOT_FOUND"),
        (chat.call("switch", messageId=other.messages()[0]["id"]), 404, "NOT_FOUND"),
        (chat.call("switch", messageId=2**31 - 1), 404, "NOT_FOUND"),
        (chat.call("edit", messageId=user_id, message="   "), 400, "VALIDATION_ERROR"),
        (chat.call("switch", messageId="1"), 400, "VALIDATION_ERROR"),
        (chat.on(bob).call("switch", messageId=user_id), 404, "NOT_FOUND"),
    ]

    for response, status, code in refusals:
        assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert chat.messages() == before
    assert len(wire.requests) == requests


def test_an_archived_conversation_refuses_all_three(wire: GeminiWireServer, alice: ApiUser) -> None:
    """410 SESSION_RESET for edit, regenerate and switch; nothing changes."""
    chat = Conversation.start(alice, "one")
    user_id, reply_id = (m["id"] for m in chat.messages())
    assert alice.call("PATCH", chat.url(), {"archived": True}).status_code == 200
    before = chat.messages()

    for response in (
        chat.call("regenerate", messageId=reply_id),
        chat.call("edit", messageId=user_id, message="x"),
        chat.call("switch", messageId=user_id),
        chat.call("regenerate/stream", messageId=reply_id),
    ):
        assert (response.status_code, response.json["code"]) == (410, "SESSION_RESET")
    assert chat.messages() == before


def test_two_edits_at_once_one_wins(app: Flask, wire: GeminiWireServer, alice: ApiUser) -> None:
    """Simultaneous edits: one is answered, the other is a 409 and stores nothing."""
    chat = Conversation.start(alice, "one", "two")
    two = chat.find("two")["id"]
    wire.default = Reply(delay=0.3)
    barrier = threading.Barrier(2)

    def edit(number: int) -> Any:
        user = ApiUser(app.test_client(), alice.headers)
        barrier.wait()
        return chat.on(user).call("edit", messageId=two, message=f"edit {number}")

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(edit, range(2)))
    wire.default = None

    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json["code"] == "SESSION_BUSY"
    winner = next(r for r in responses if r.status_code == 200)
    assert chat.texts()[-1] == winner.json["response"]
    assert versions(chat.messages()[-2]) == (1, 2)  # the loser's version was never stored


def test_switch_while_a_reply_is_written_is_busy(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """A switch waits for the reply being written (409), so the reply lands where it was asked."""
    chat = Conversation.start(alice, "one")
    first = chat.messages()[0]["id"]
    wire.script(Reply(delay=0.5))
    count = len(wire.requests)
    worker = ApiUser(app.test_client(), alice.headers)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(lambda: chat.on(worker).send("two"))
        assert wire.wait_requests(count + 1)
        refused = chat.call("switch", messageId=first)
        assert (refused.status_code, refused.json["code"]) == (409, "SESSION_BUSY")
        pending.result()
    assert chat.texts()[-2] == "two"


# --- what the model sees ------------------------------------------------------------------


def assert_sent_the_path(wire: GeminiWireServer, chat: Conversation, failed: str = "") -> None:
    """The model's last request held exactly the active path before its newest reply (or,
    for a turn that failed, the path and then the ``failed`` message), alternating."""
    sent = contents(turns(wire)[-1])
    expected = [*chat.model_turns(), ("user", failed)] if failed else chat.model_turns()[:-1]
    assert sent == expected
    assert [role for role, _ in sent] == ["user", "model"] * (len(sent) // 2) + ["user"]


def test_the_model_sees_exactly_the_active_path_from_two_instances(
    database_url: str, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """After a mix of edits, regenerations, switches and a failure, served by two app
    instances on one database, every request holds the active path's turns in order."""
    other = build_app(database_url, fresh=False, **wire_config(wire))
    try:
        here = Conversation.start(alice, "a")
        a, first_reply = (m["id"] for m in here.messages())
        there = here.on(ApiUser(other.test_client(), alice.headers))
        there.send("b")
        assert_sent_the_path(wire, here)
        here.edit(here.find("b")["id"], "B")
        assert_sent_the_path(wire, there)
        wire.script(Reply(text="a, again"))
        there.regenerate(first_reply)
        assert_sent_the_path(wire, here)
        here.switch(a)
        assert here.texts() == ["a", "a, again"]
        there.switch(first_reply)
        there.send("c")
        assert_sent_the_path(wire, here)
        c = here.find("c")["id"]
        wire.script(Reply(status=500))
        assert here.user.send("boom", here.id).status_code >= 500
        assert_sent_the_path(wire, there, failed="boom")
        there.send("d")
        assert_sent_the_path(wire, here)
        assert "boom" in here.texts()
        wire.script(Reply(text="d, again"))
        here.regenerate(here.messages()[-1]["id"])
        assert_sent_the_path(wire, there)
        there.edit(c, "C")
        assert_sent_the_path(wire, here)
        edited = here.find("C")["id"]
        here.switch(c)
        assert here.texts()[-3:] == ["boom", "d", "d, again"]
        there.switch(edited)
        here.send("e")
        assert_sent_the_path(wire, there)
    finally:
        close_app(other)
    assert [text for _, text in contents(turns(wire)[-1])] == [
        "a",
        echo("a", 1),
        "B",
        echo("B", 3),
        "C",
        echo("C", 5),
        "e",
    ]


# --- cost -----------------------------------------------------------------------------------


def test_a_turn_on_a_branched_conversation_runs_eight_statements(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Branches add no statement to an ordinary turn (the path is one recursive query)."""
    chat = Conversation.start(alice, "one", "two")
    chat.regenerate(chat.find(echo("one", 1))["id"])
    chat.edit(chat.find("one")["id"], "ONE")
    chat.send("three")
    with app.app_context():
        recorder = Recorder(db.engine)

    statements, commits = recorder.measure(lambda: chat.send("four"))

    assert (len(statements), commits) == (8, 2), statements


# --- export and import ----------------------------------------------------------------------


def import_export(user: ApiUser, export: dict[str, Any]) -> Conversation:
    """Import an export file (as a JSON body); the one conversation it made."""
    response = user.call("POST", "/api/v1/chat/import", export)
    assert response.status_code == 200, response.json
    assert response.json["imported"] == 1, response.json
    return Conversation(user, response.json["sessionIds"][0])


def test_export_and_import_carry_the_tree(
    wire: GeminiWireServer, alice: ApiUser, bob: ApiUser
) -> None:
    """Every branch and the active path survive an export and an import; the Markdown
    document shows the active path."""
    chat = Conversation.start(alice, "one", "two")
    two = chat.find("two")["id"]
    chat.edit(two, "TWO")
    chat.switch(two)
    exported = alice.call("GET", chat.url("export")).json

    messages = exported["conversations"][0]["messages"]
    assert [m["parent"] for m in messages] == [None, 0, 1, 2, 1, 4]
    assert exported["conversations"][0]["activeMessage"] == 2
    copy = import_export(bob, exported)
    assert copy.texts() == chat.texts()
    assert versions(copy.find("two")) == (0, 2)
    assert bob.call("GET", copy.url("export")).json["conversations"] == exported["conversations"]
    copy.switch(copy.messages()[1]["id"])  # the newest version below: the edit
    assert copy.texts()[2] == "TWO"

    document = alice.call("GET", chat.url("export"), query_string={"format": "markdown"})
    assert "two" in document.get_data(as_text=True)
    assert "TWO" not in document.get_data(as_text=True)


def test_an_export_without_parents_imports_as_one_branch(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Files written before branches list one branch: each message below the one before."""
    chat = Conversation.start(alice, "one", "two")
    exported = alice.call("GET", chat.url("export")).json
    conversation = exported["conversations"][0]
    del conversation["activeMessage"]
    for message in conversation["messages"]:
        del message["parent"]
    conversation["title"] = "older file"

    copy = import_export(alice, exported)

    assert copy.texts() == chat.texts()
    assert [m["parentId"] for m in copy.messages()][1:] == [m["id"] for m in copy.messages()][:-1]
    copy.send("three")
    assert len(contents(turns(wire)[-1])) == 5


def test_an_export_with_a_broken_tree_is_refused(wire: GeminiWireServer, alice: ApiUser) -> None:
    """A parent that is not an earlier message fails that conversation alone."""
    chat = Conversation.start(alice, "one")
    exported = alice.call("GET", chat.url("export")).json
    exported["conversations"][0]["messages"][0]["parent"] = 1

    report = alice.call("POST", "/api/v1/chat/import", exported).json

    assert (report["imported"], report["failed"]) == (0, 1)
    assert "parent" in report["problems"][0]["reason"]


def test_a_conversation_with_branches_is_deleted_whole(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Deleting a conversation removes every branch, also with its messages loaded."""
    chats = [Conversation.start(alice, "one", "two"), Conversation.start(alice, "three", "four")]
    for chat in chats:
        chat.edit(chat.messages()[0]["id"], "first again")
        chat.regenerate(chat.messages()[-1]["id"])
        chat.switch(chat.messages()[0]["id"])

    assert alice.call("DELETE", chats[0].url()).status_code == 200
    with app.app_context():
        session = db.session.get(ChatSession, uuid.UUID(chats[1].id))
        assert len(session.messages) == 7  # loaded: the ORM deletes them one by one
        db.session.delete(session)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
