"""Which files a turn sends within CHAT_CONTEXT_TOKENS: the oldest give way first (their
turn's text stays), then the oldest turns; this message's own files go last."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask

from chatapp.gemini import Attachment, Turn
from chatapp.services.chat import attachments
from chatapp.services.chat.attachments import _fit, _within_budget
from tests.chat.test_attachments import reply_of, send, upload
from tests.support.clients import ApiUser


def image(name: str, tokens: int = 100) -> Attachment:
    """A file without bytes that costs ``tokens``."""
    return Attachment(name, f"{name}.png", "image/png", tokens)


def pair(text: str, *files: Attachment) -> tuple[Turn, Turn]:
    """A user turn with ``files`` and a reply of the same text (2 tokens each here)."""
    return Turn("user", text, files), Turn("model", text)


def sent(turns: list[Turn]) -> list[list[str]]:
    """The file ids each user turn still carries."""
    return [[file.file_id for file in turn.attachments] for turn in turns if turn.role == "user"]


def test_everything_fits() -> None:
    """Under the budget nothing is left out."""
    turns, omitted = _within_budget([pair("one", image("a")), pair("two", image("b"))], 1000)
    assert sent(turns) == [["a"], ["b"]] and omitted == []


def test_the_oldest_files_give_way_first_and_their_text_stays() -> None:
    """Room for two of three files: the oldest goes; every turn's text is still sent."""
    pairs = [pair("one", image("a")), pair("two", image("b"), image("c"))]
    turns, omitted = _within_budget(pairs, 8 + 200)
    assert sent(turns) == [[], ["b", "c"]] and omitted == ["a"]
    assert [turn.text for turn in turns] == ["one", "one", "two", "two"]


def test_a_newer_file_that_does_not_fit_takes_the_older_ones_with_it() -> None:
    """Strictly oldest first: once a file does not fit, no older one is kept either."""
    pairs = [pair("one", image("a", 10)), pair("two", image("b", 500)), pair("three")]
    turns, omitted = _within_budget(pairs, 12 + 100)
    assert sent(turns) == [[], [], []] and omitted == ["a", "b"]


def test_when_the_text_alone_is_over_every_file_goes_then_the_oldest_turns() -> None:
    """Text over the budget: all files give way, and the newest turns that fit stay."""
    pairs = [pair("one", image("a")), pair("two", image("b")), pair("three", image("c"))]
    turns, omitted = _within_budget(pairs, 7)  # the texts cost 2 + 2 + 4
    assert omitted == ["a", "b", "c"]
    assert [turn.text for turn in turns] == ["two", "two", "three", "three"]
    assert sent(turns) == [[], []]


def test_this_messages_files_go_last_first_ones_first() -> None:
    """This message's files are kept while they fit at all; its first ones give way."""
    files = [image("a", 300), image("b", 300), image("c", 300)]
    kept, left = _fit(files, 700)
    assert [f.file_id for f in kept] == ["b", "c"] and [f.file_id for f in left] == ["a"]
    assert _fit(files, 100) == ([], files)


@dataclass
class Row:
    """A history row without files, as a text-only conversation reads it."""

    role: str
    content: str
    status: str = "complete"


def test_a_text_only_conversation_takes_the_text_path() -> None:
    """Without files the history is exactly what model_history makes of the rows."""
    rows = [Row("user", "hi"), Row("model", "hello")]
    plan = attachments.plan(rows, [], 1000, with_files=False)
    assert plan.history == [Turn("user", "hi"), Turn("model", "hello")]
    assert plan.attachments == () and plan.omitted == []


@pytest.mark.wire_model(CHAT_CONTEXT_TOKENS=600)
def test_this_messages_own_files_over_the_budget_are_named(app: Flask, alice: ApiUser) -> None:
    """Three images of 258 tokens with room for two: the first is left out and named."""
    ids = [upload(alice, f"{n}.png") for n in range(3)]
    reply = reply_of("/api/v1/chat/message", send(alice, "/api/v1/chat/message", "all", ids))
    assert reply["omittedAttachments"] == ids[:1]
