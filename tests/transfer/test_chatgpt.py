"""ChatGPT's conversations.json: each message tree is imported whole, the branch ending at
current_node active."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from chatapp.services.transfer import chatgpt
from tests.support.branches import Conversation
from tests.support.clients import ApiUser
from tests.transfer.conftest import contents, export_all, import_file

pytestmark = pytest.mark.app_config(OFFLINE_MODEL_DELAY=0)
# Built from the structure of a real export: mapping, parent, children, current_node; a
# hidden system message and custom instructions, a regenerated reply and an edited question
# (side branches), an image, code run by the python tool and its output.
FIXTURE = Path(__file__).with_name("chatgpt_conversations.json")


EMAIL_PATH = [
    ("user", "How do I match an email address with a regex?"),
    ("assistant", "Use `^[^@\\s]+@[^@\\s]+$`."),
    (
        "user",
        "[Image not imported: file-service://file-AbC123, 800x600]\n\n"
        "What does this screenshot show?",
    ),
    (
        "assistant",
        "[Code (sent to python)]\n```python\nprint(6 * 7)\n```\n\n"
        "[Code output]\n```\n42\n```\n\n"
        "The screenshot shows a form; the code printed 42.",
    ),
    ("user", "Thanks! Summarise it in one line."),
    ("assistant", "Email regex: local part, @, domain."),
]


def imported(user: ApiUser, title: str, data: bytes | None = None) -> Conversation:
    """Import ``data`` (the fixture by default); the conversation titled ``title``."""
    report = import_file(user, data or FIXTURE.read_bytes(), "conversations.json").json
    assert report["failed"] == 0, report
    return titled(user, report, title)


def titled(user: ApiUser, report: Any, title: str) -> Conversation:
    """The conversation titled ``title`` among those an import created."""
    for session_id in report["sessionIds"]:
        chat = Conversation(user, session_id)
        if chat.user.session(session_id).json["title"] == title:
            return chat
    raise AssertionError(f"{title!r} was not imported")


def path(chat: Conversation) -> list[tuple[str, str]]:
    """The active path as (role, text) pairs."""
    return [(m["role"], m["content"]) for m in chat.messages()]


def test_current_branch_is_the_active_path_with_roles_and_times(app: Flask, alice: ApiUser) -> None:
    """The branch ending at current_node is the path shown, in order; hidden messages left
    out; tool output and images named in the text; timestamps and models kept."""
    report = import_file(alice, FIXTURE.read_bytes(), "conversations.json").json

    assert (report["source"], report["imported"], report["failed"]) == ("chatgpt", 2, 0)
    assert path(titled(alice, report, "Email regex")) == EMAIL_PATH
    regex = next(c for c in contents(export_all(alice)) if c["title"] == "Email regex")
    assert regex["createdAt"] == "2023-11-14T22:13:20+00:00"
    assert regex["messages"][0]["createdAt"] == "2023-11-14T22:13:21+00:00"
    assert {m["model"] for m in regex["messages"] if m["role"] == "assistant"} == {"gpt-4o"}
    text = json.dumps(regex)
    for left_out in ("Be brief", "I am a developer"):
        assert left_out not in text


def test_edits_and_regenerations_are_versions(app: Flask, alice: ApiUser) -> None:
    """ChatGPT's regenerated reply and edited question are versions next to the ones on
    current_node's branch; switching shows the other branch."""
    chat = imported(alice, "Email regex")
    counts = [(m["content"][:20], m["siblingIndex"], m["siblingCount"]) for m in chat.messages()]
    assert [count for _, _, count in counts] == [1, 2, 1, 1, 2, 1]
    assert counts[1][1] == counts[4][1] == 1  # the newer version is the one shown

    old_reply = chat.messages()[1]["siblingIds"][0]
    chat.switch(old_reply)
    assert path(chat) == [EMAIL_PATH[0], ("assistant", "An answer that was regenerated away.")]

    chat.switch(chat.messages()[0]["id"])  # back: the newest child at each step
    assert path(chat) == EMAIL_PATH
    edited = chat.messages()[4]["siblingIds"][0]
    chat.switch(edited)
    assert path(chat) == [
        *EMAIL_PATH[:4],
        ("user", "A question the user edited."),
        ("assistant", "Reply to the edited question."),
    ]


def node(
    key: str, parent: str | None, children: list[str], role: str | None, text: str = ""
) -> Any:
    """One node of a ChatGPT mapping (``role`` None: the empty root)."""
    message = None
    if role is not None:
        message = {
            "author": {"role": role},
            "create_time": 1_700_000_000 + len(key),
            "content": {"content_type": "text", "parts": [text]},
            "metadata": {},
        }
    return {"id": key, "message": message, "parent": parent, "children": children}


def conversation(title: str, current: str, *nodes: Any) -> bytes:
    """A conversations.json holding one conversation with these nodes."""
    mapping = {n["id"]: n for n in nodes}
    raw = {
        "title": title,
        "create_time": 1_700_000_000,
        "current_node": current,
        "mapping": mapping,
    }
    return json.dumps([raw]).encode()


def test_a_hidden_node_between_messages_keeps_the_tree(app: Flask, alice: ApiUser) -> None:
    """A system message between a question and its two replies is left out: the replies
    hang from the question, as two versions."""
    data = conversation(
        "Hidden",
        "a2",
        node("r", None, ["q"], None),
        node("q", "r", ["s"], "user", "Question?"),
        node("s", "q", ["a1", "a2"], "system", "You are helpful."),
        node("a1", "s", [], "assistant", "First answer."),
        node("a2", "s", [], "assistant", "Second answer."),
    )
    chat = imported(alice, "Hidden", data)
    messages = chat.messages()
    assert path(chat) == [("user", "Question?"), ("assistant", "Second answer.")]
    assert messages[1]["parentId"] == messages[0]["id"]
    assert (messages[1]["siblingIndex"], messages[1]["siblingCount"]) == (1, 2)


def test_tool_output_regenerated_joins_each_version(app: Flask, alice: ApiUser) -> None:
    """A reply whose tool output was followed by two answers: each path alternates, so
    each answer is a version holding the reply and the output before it."""
    data = conversation(
        "Tools",
        "a2",
        node("r", None, ["q"], None),
        node("q", "r", ["c"], "user", "Run it"),
        node("c", "q", ["t"], "assistant", "code"),
        node("t", "c", ["a1", "a2"], "tool", "42"),
        node("a1", "t", [], "assistant", "It is 42."),
        node("a2", "t", ["q2"], "assistant", "The answer: 42."),
        node("q2", "a2", [], "user", "Thanks"),
    )
    chat = imported(alice, "Tools", data)
    assert path(chat) == [
        ("user", "Run it"),
        ("assistant", "code\n\n42\n\nThe answer: 42."),
        ("user", "Thanks"),
    ]
    chat.switch(chat.messages()[1]["siblingIds"][0])
    assert path(chat) == [("user", "Run it"), ("assistant", "code\n\n42\n\nIt is 42.")]


def test_a_single_branch_converts_as_before(app: Flask) -> None:
    """Without branches no parents or active message are written: the conversation is
    the same as before trees (so its fingerprint is too)."""
    raw = json.loads(FIXTURE.read_text())[1]
    converted = chatgpt.convert(raw)
    assert converted.linear() and converted.activeMessage is None
    assert all("parent" not in m.model_fields_set for m in converted.messages)


def test_chatgpt_file_twice_and_then_its_chatapp_export(app: Flask, alice: ApiUser) -> None:
    """The same file again imports nothing; neither does chatapp's export of it."""
    assert import_file(alice, FIXTURE.read_bytes()).json["imported"] == 2
    assert import_file(alice, FIXTURE.read_bytes()).json["skipped"] == 2
    again = import_file(alice, json.dumps(export_all(alice)).encode()).json
    assert (again["imported"], again["skipped"]) == (0, 2)


def test_a_broken_conversation_fails_alone(app: Flask, alice: ApiUser) -> None:
    """A conversation without its tree fails, naming why; the other is imported."""
    conversations = json.loads(FIXTURE.read_text())
    del conversations[0]["mapping"]
    report = import_file(alice, json.dumps(conversations).encode()).json
    assert (report["imported"], report["failed"]) == (1, 1)
    assert "mapping" in report["problems"][0]["reason"]


def test_a_long_tree_and_a_loop_convert() -> None:
    """Thousands of messages deep converts (no recursion); nodes in a parent loop, which
    no root reaches, are left out; a node its parent does not list is still its child."""
    keys = [f"n{n}" for n in range(3000)]
    nodes = [node("r", None, [keys[0]], None)]
    for n, key in enumerate(keys):
        role = "user" if n % 2 == 0 else "assistant"
        below = [keys[n + 1]] if n + 1 < len(keys) and n != 5 else []  # n6 unlisted
        nodes.append(node(key, keys[n - 1] if n else "r", below, role, key))
    nodes += [node("x", "y", ["y"], "user", "loop"), node("y", "x", ["x"], "user", "loop")]
    raw = json.loads(conversation("Long", keys[-1], *nodes))[0]
    converted = chatgpt.convert(raw)
    assert [m.content for m in converted.messages] == keys
    assert converted.linear() and converted.activeMessage is None
