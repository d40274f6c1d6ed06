"""ChatGPT's conversations.json: the current branch of each message tree is imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from tests.support.clients import ApiUser
from tests.transfer.conftest import contents, export_all, import_file

pytestmark = pytest.mark.app_config(OFFLINE_MODEL_DELAY=0)
# Built from the structure of a real export: mapping, parent, children, current_node; a
# hidden system message and custom instructions, a regenerated reply and an edited question
# (side branches), an image, code run by the python tool and its output.
FIXTURE = Path(__file__).with_name("chatgpt_conversations.json")


def test_current_branch_is_imported_with_roles_and_times(app: Flask, alice: ApiUser) -> None:
    """Only the branch ending at current_node, in order; hidden messages left out; tool
    output and images named in the text; timestamps and models kept."""
    report = import_file(alice, FIXTURE.read_bytes(), "conversations.json").json

    assert (report["source"], report["imported"], report["failed"]) == ("chatgpt", 2, 0)
    regex = next(c for c in contents(export_all(alice)) if c["title"] == "Email regex")
    texts = [(m["role"], m["content"]) for m in regex["messages"]]
    assert texts == [
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
    assert regex["createdAt"] == "2023-11-14T22:13:20+00:00"
    assert regex["messages"][0]["createdAt"] == "2023-11-14T22:13:21+00:00"
    assert {m["model"] for m in regex["messages"] if m["role"] == "assistant"} == {"gpt-4o"}
    text = json.dumps(regex)
    for left_out in ("regenerated away", "edited", "Be brief", "I am a developer"):
        assert left_out not in text


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
