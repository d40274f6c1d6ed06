"""Which files a turn sends within CHAT_CONTEXT_TOKENS: the oldest give way first (their
turn's text stays), then the oldest turns; this message's own files go last."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask

from chatapp.gemini import Attachment, Turn
from chatapp.services.chat import attachments
from chatapp.services.chat.attachments import _fit, _kept
from tests.chat.test_attachments import reply_of, send, upload
from tests.support.clients import ApiUser


def image(name: str, tokens: int = 100) -> Attachment:
    """A file without bytes that costs ``tokens``."""
    return Attachment(name, f"{name}.png", "image/png", tokens)


def pair(text: str, *files: Attachment) -> tuple[Turn, Turn]:
    """A user turn with ``files`` and a reply of the same text (2 tokens each here)."""
    return Turn("user", text, files), Turn("model", text)


def ids(files: list[Attachment]) -> list[str]:
    """The ids of files."""
    return [file.file_id for file in files]


def test_everything_fits() -> None:
    """Under the budget nothing is left out."""
    kept, omitted = _kept([pair("one", image("a")), pair("two", image("b"))], 1000)
    assert ids(kept) == ["a", "b"] and omitted == []


def test_the_oldest_files_give_way_first() -> None:
    """Room for two of three files beside the text (2 + 2 tokens): the oldest goes."""
    pairs = [pair("one", image("a")), pair("two", image("b"), image("c"))]
    kept, omitted = _kept(pairs, 4 + 200)
    assert ids(kept) == ["b", "c"] and omitted == ["a"]


def test_a_newer_file_that_does_not_fit_takes_the_older_ones_with_it() -> None:
    """Strictly oldest first: once a file does not fit, no older one is kept either."""
    pairs = [pair("one", image("a", 10)), pair("two", image("b", 500)), pair("three")]
    kept, omitted = _kept(pairs, 8 + 100)
    assert kept == [] and omitted == ["a", "b"]


def test_when_the_text_alone_is_over_every_file_goes() -> None:
    """Text over the budget (2 + 2 + 4 tokens against 7): every file gives way; the text
    planner then keeps the newest turns that fit."""
    pairs = [pair("one", image("a")), pair("two", image("b")), pair("three", image("c"))]
    kept, omitted = _kept(pairs, 7)
    assert kept == [] and omitted == ["a", "b", "c"]


def test_dressing_puts_the_kept_files_on_the_newest_pairs() -> None:
    """The planner sent the newest two pairs: they get the files kept for them."""
    plan = attachments.TurnFiles([], 0, pair_files=[(image("a"),), (), (image("c"),)])
    history = [turn for text in ("two", "three") for turn in pair(text)]
    dressed = plan.dress([Turn(turn.role, turn.text) for turn in history])
    assert [ids(list(turn.attachments)) for turn in dressed] == [[], [], ["c"], []]


def test_this_messages_files_go_last_first_ones_first() -> None:
    """This message's files are kept while they fit at all; its first ones give way."""
    files = [image("a", 300), image("b", 300), image("c", 300)]
    kept, left = _fit(files, 700)
    assert ids(kept) == ["b", "c"] and ids(left) == ["a"]
    assert _fit(files, 100) == ([], files)


@dataclass
class Row:
    """A history row without files, as a text-only conversation reads it."""

    role: str
    content: str
    status: str = "complete"


def test_a_text_only_conversation_takes_the_text_path() -> None:
    """Without files the text planner gets the very rows and budget."""
    rows = [Row("user", "hi"), Row("model", "hello")]
    plan = attachments.plan(rows, [], 1000, with_files=False)
    assert plan.rows is rows and plan.budget == 1000
    assert plan.dress(history := [Turn("user", "hi"), Turn("model", "hello")]) is history
    assert plan.attachments == () and plan.omitted == []


@pytest.mark.wire_model(CHAT_CONTEXT_TOKENS=600)
def test_this_messages_own_files_over_the_budget_are_named(app: Flask, alice: ApiUser) -> None:
    """Three images of 258 tokens with room for two: the first is left out and named."""
    ids = [upload(alice, f"{n}.png") for n in range(3)]
    reply = reply_of("/api/v1/chat/message", send(alice, "/api/v1/chat/message", "all", ids))
    assert reply["omittedAttachments"] == ids[:1]
