"""Files in chat turns (issue 18): attached to the user's message on every route, sent to
the model as inline parts on that turn and the next ones (from any worker), left out
oldest first when the history is over its budget, and refused (404, 409, 413) before
anything is stored."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfWriter
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, UploadedFile
from tests.chat.test_turn_statements import TURN_STATEMENTS
from tests.support.clients import ApiUser
from tests.support.data import sse_events
from tests.support.files import image_bytes, upload_file
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.statements import Recorder
from tests.support.turns import is_title, turns
from tests.support.wire_replies import INLINE_TOKENS

MESSAGE = "/api/v1/chat/message"
STREAM = "/api/v1/chat/message/stream"
PROMPT = "/api/v1/chat"


def upload(user: ApiUser, name: str = "red.png", data: bytes | None = None) -> str:
    """Upload a file (a small red PNG by default); its id."""
    response = upload_file(user, name, data if data is not None else image_bytes("PNG"))
    assert response.status_code == 201, response.json
    return response.json["id"]


def send(user: ApiUser, route: str, text: str, ids: list[str], session_id: str | None = None):
    """A turn (or one-off prompt) with attachments; the response."""
    body: dict[str, Any] = {"attachments": ids}
    body["prompt" if route == PROMPT else "message"] = text
    if session_id is not None and route != PROMPT:  # a one-off prompt has no conversation
        body["sessionId"] = session_id
    return user.call("POST", route, body)


def reply_of(route: str, response: Any) -> dict[str, Any]:
    """The stored reply a turn answered: MessageOut, or the stream's ``end`` event."""
    assert response.status_code == 200, response.get_data(as_text=True)
    if route == STREAM:
        events = sse_events(response)
        end = events[-1]
        assert end["type"] == "end", events
        return {**end, "sessionId": events[0]["sessionId"]}
    return response.json


def encoded(data: bytes) -> str:
    """Bytes as an inline part carries them."""
    return base64.b64encode(data).decode()


def inline_parts(record: Any) -> list[list[dict[str, str]]]:
    """The ``inlineData`` of each content of a recorded request."""
    return [
        [part["inlineData"] for part in content["parts"] if "inlineData" in part]
        for content in record.body["contents"]
    ]


def counts(app: Flask) -> tuple[int, int, int]:
    """Conversations, messages, and attached files stored."""
    with app.app_context():
        attached = select(func.count()).where(UploadedFile.message_id.is_not(None))
        return (
            db.session.scalar(select(func.count()).select_from(ChatSession)) or 0,
            db.session.scalar(select(func.count()).select_from(ChatMessage)) or 0,
            db.session.scalar(attached) or 0,
        )


# --- on every route ---------------------------------------------------------------------------


@pytest.mark.wire_model
@pytest.mark.parametrize("route", [MESSAGE, STREAM])
def test_a_turns_files_are_inline_parts_and_listed_on_its_message(
    wire: GeminiWireServer, alice: ApiUser, route: str
) -> None:
    """The model gets the image as an inline part before the text; the stored message lists
    it, and its content is served to its owner."""
    png = image_bytes("PNG")
    file_id = upload(alice, "red.png", png)
    reply = reply_of(route, send(alice, route, "What colour is this?", [file_id]))
    assert reply["omittedAttachments"] == []

    (record,) = turns(wire)
    assert record.body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": encoded(png)}},
        {"text": "What colour is this?"},
    ]
    user, model = alice.session(reply["sessionId"]).json["messages"]
    assert user["attachments"] == [
        {
            "id": file_id,
            "name": "red.png",
            "mimeType": "image/png",
            "size": len(png),
            "width": 40,
            "height": 20,
        }
    ]
    assert model["attachments"] == [] and model["omittedAttachments"] == []
    assert alice.call("GET", f"/api/v1/files/{file_id}/content").data == png


@pytest.mark.wire_model
def test_a_message_may_be_only_files(wire: GeminiWireServer, alice: ApiUser) -> None:
    """With attachments the text may be empty: the content is the file alone."""
    file_id = upload(alice, "notes.txt", b"line one\nline two\n")
    reply_of(MESSAGE, send(alice, MESSAGE, "", [file_id]))
    (record,) = turns(wire)
    assert record.body["contents"][0]["parts"] == [
        {
            "inlineData": {
                "mimeType": "text/plain",
                "data": encoded(b"line one\nline two\n"),
            }
        }
    ]


@pytest.mark.wire_model
def test_one_off_prompt_sends_its_files(wire: GeminiWireServer, alice: ApiUser) -> None:
    """POST /api/v1/chat takes attachments too; nothing is stored, the file stays loose."""
    file_id = upload(alice)
    response = send(alice, PROMPT, "Describe it", [file_id])
    assert response.status_code == 200, response.json
    assert [len(parts) for parts in inline_parts(wire.requests[-1])] == [1]
    assert alice.call("GET", f"/api/v1/files/{file_id}").status_code == 200


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [MESSAGE, STREAM, PROMPT])
def test_someone_elses_file_is_404_and_nothing_is_stored(
    app: Flask, alice: ApiUser, bob: ApiUser, route: str
) -> None:
    """bob's file id is unknown to alice on every route: 404, no conversation, no message,
    and bob's file is not attached to anything."""
    session_id = alice.send("hello").json["sessionId"]
    his = upload(bob)
    before = counts(app)
    for target in (None, session_id):
        response = send(alice, route, "look", [his], target)
        assert response.status_code == 404 and response.json["code"] == "NOT_FOUND"
    assert counts(app) == before
    assert bob.call("GET", f"/api/v1/files/{his}").status_code == 200


@pytest.mark.parametrize("route", [MESSAGE, STREAM, PROMPT])
def test_a_file_already_attached_is_409(app: Flask, alice: ApiUser, route: str) -> None:
    """A file is part of one message: sending it again is a 409 and changes nothing."""
    file_id = upload(alice)
    session_id = reply_of(MESSAGE, send(alice, MESSAGE, "first", [file_id]))["sessionId"]
    before = counts(app)
    response = send(alice, route, "again", [file_id], session_id)
    assert response.status_code == 409 and response.json["code"] == "FILE_ALREADY_ATTACHED"
    assert counts(app) == before


@pytest.mark.app_config(FILES_PER_MESSAGE=1)
@pytest.mark.parametrize("route", [MESSAGE, STREAM, PROMPT])
def test_too_many_files_is_413(app: Flask, alice: ApiUser, route: str) -> None:
    """Past FILES_PER_MESSAGE: a 413 naming the limit, and nothing stored."""
    ids = [upload(alice), upload(alice, "b.png")]
    before = counts(app)
    response = send(alice, route, "two", ids)
    assert response.status_code == 413 and response.json["code"] == "TOO_MANY_ATTACHMENTS"
    assert "FILES_PER_MESSAGE" in response.json["message"]
    assert counts(app) == before


@pytest.mark.parametrize("route", [MESSAGE, STREAM, PROMPT])
def test_files_over_the_bytes_per_message_are_413(app: Flask, alice: ApiUser, route: str) -> None:
    """Past FILES_PER_MESSAGE_BYTES: a 413 naming the limit, and nothing stored."""
    ids = [upload(alice), upload(alice, "b.png")]
    app.config["FILES_PER_MESSAGE_BYTES"] = len(image_bytes("PNG")) + 1
    before = counts(app)
    response = send(alice, route, "two", ids)
    assert response.status_code == 413 and response.json["code"] == "ATTACHMENTS_TOO_LARGE"
    assert "FILES_PER_MESSAGE_BYTES" in response.json["message"]
    assert counts(app) == before


def test_an_empty_message_without_files_is_still_400(alice: ApiUser) -> None:
    """Only attachments make an empty text acceptable."""
    for body in ({"message": ""}, {"message": "", "attachments": []}):
        response = alice.call("POST", MESSAGE, body)
        assert response.status_code == 400
        assert response.json["details"][0]["field"] == "message"


# --- later turns, other workers ---------------------------------------------------------------


@pytest.mark.wire_model
def test_files_are_sent_again_on_the_next_turn_by_another_worker(
    wire: GeminiWireServer,
    alice: ApiUser,
    make_worker: Callable[..., Flask],
    headers: dict[str, str],
) -> None:
    """The next turn, served by a second app instance on the same database, sends the
    first turn's image again as an inline part of that turn."""
    png = image_bytes("PNG", color="blue")
    file_id = upload(alice, "blue.png", png)
    session_id = reply_of(MESSAGE, send(alice, MESSAGE, "What is this?", [file_id]))["sessionId"]

    other = ApiUser(make_worker().test_client(), headers)
    reply = reply_of(STREAM, send(other, STREAM, "And its colour?", [], session_id))
    assert reply["omittedAttachments"] == []

    first, second = turns(wire)
    assert inline_parts(first) == [[{"mimeType": "image/png", "data": encoded(png)}]]
    assert inline_parts(second) == [*inline_parts(first), [], []]
    assert [c["parts"][-1]["text"] for c in second.body["contents"]][::2] == [
        "What is this?",
        "And its colour?",
    ]


@pytest.mark.wire_model(CHAT_CONTEXT_TOKENS=700)
def test_the_oldest_files_give_way_first_and_the_reply_says_so(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Each image costs what countTokens said (INLINE_TOKENS, 258): with room for two
    (700 tokens less the short texts), the third
    turn leaves the first turn's image out (its text stays), and its reply, stream end
    event and stored message name it."""
    assert INLINE_TOKENS == 258
    first, second, third = upload(alice, "1.png"), upload(alice, "2.png"), upload(alice, "3.png")
    session_id = reply_of(MESSAGE, send(alice, MESSAGE, "one", [first]))["sessionId"]
    reply_of(MESSAGE, send(alice, MESSAGE, "two", [second], session_id))
    reply = reply_of(STREAM, send(alice, STREAM, "three", [third], session_id))

    assert reply["omittedAttachments"] == [first]
    sent = turns(wire)[-1]
    assert [len(parts) for parts in inline_parts(sent)] == [0, 0, 1, 0, 1]
    assert sent.body["contents"][0]["parts"] == [{"text": "one"}]
    messages = alice.session(session_id).json["messages"]
    assert messages[-1]["omittedAttachments"] == [first]
    assert messages[1]["omittedAttachments"] == []
    counted = [r for r in wire.requests if r.method_name == "countTokens"]
    assert len(counted) == 3  # once per file, at upload


@pytest.mark.wire_model
def test_a_failing_count_falls_back_to_an_estimate(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """When countTokens fails, the upload still works, with an estimate stored (a small
    image: 258 tokens by Gemini's published rule)."""
    wire.count_failure = Reply(status=503)
    file_id = upload(alice)
    assert [r.method_name for r in wire.requests] == ["countTokens"]
    with app.app_context():
        assert db.session.get(UploadedFile, uuid.UUID(file_id)).tokens == 258


@pytest.mark.wire_model
def test_a_failed_turns_files_stay_attached_and_are_not_sent_again(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """The model fails: the user's message is failed with its file still attached, and the
    next turn sends neither the message nor its file."""
    session_id = alice.send("hello").json["sessionId"]
    file_id = upload(alice)
    wire.script(Reply(status=400, message="bad image"))
    failed = send(alice, MESSAGE, "look", [file_id], session_id)
    assert failed.status_code >= 400
    messages = alice.session(session_id).json["messages"]
    assert messages[-1]["status"] == "failed"
    assert [a["id"] for a in messages[-1]["attachments"]] == [file_id]

    reply_of(MESSAGE, alice.send("next", session_id))
    assert inline_parts(turns(wire)[-1]) == [[], [], []]


@pytest.mark.wire_model
def test_a_failed_stream_keeps_its_files_on_the_failed_message(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Streamed: the model refuses the turn before its first chunk; the stream ends with an
    error, the message is failed with its file, and the next turn does not send it."""
    session_id = alice.send("hello").json["sessionId"]
    file_id = upload(alice)
    wire.script(Reply(status=500, message="cannot read the image"))
    events = sse_events(send(alice, STREAM, "look", [file_id], session_id))
    assert events[-1]["type"] == "error"
    failed = alice.session(session_id).json["messages"][-1]
    assert failed["status"] == "failed" and [a["id"] for a in failed["attachments"]] == [file_id]

    reply_of(STREAM, send(alice, STREAM, "next", [], session_id))
    assert inline_parts(turns(wire)[-1]) == [[], [], []]
    assert send(alice, MESSAGE, "again", [file_id], session_id).status_code == 409


# --- the offline model ------------------------------------------------------------------------


def test_the_offline_model_says_what_it_received(alice: ApiUser) -> None:
    """Keyless, the reply names each file with its image size or line count, and later
    turns say the earlier files came again."""
    image = upload(alice, "photo.png", image_bytes("PNG", size=(64, 48)))
    notes = upload(alice, "notes.md", b"# Title\n\nA line.\n")
    paper = upload(alice, "paper.pdf", pdf_bytes(pages=2))
    reply = reply_of(MESSAGE, send(alice, MESSAGE, "Here you go", [image, notes, paper]))
    text = reply["response"]
    assert "3 file(s)" in text
    assert "photo.png (image 64x48, image/png, 258 token(s))" in text
    assert "notes.md (text, 3 line(s)" in text
    assert "paper.pdf (PDF, 2 page(s), application/pdf, 516 token(s))" in text
    later = reply_of(MESSAGE, alice.send("and now?", reply["sessionId"]))
    assert "Earlier turns carried 3 file(s): photo.png, notes.md, paper.pdf." in later["response"]


def pdf_bytes(pages: int) -> bytes:
    """A PDF of blank pages, written by pypdf."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.wire_model
def test_a_conversation_of_only_files_is_titled_from_their_names(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """A first message without text gives the title prompt the files' names."""
    file_id = upload(alice, "holiday.png")
    session_id = reply_of(MESSAGE, send(alice, MESSAGE, "", [file_id]))["sessionId"]
    (title,) = [r for r in wire.requests if is_title(r)]
    assert title.body["contents"][0]["parts"][0]["text"].endswith("holiday.png")
    assert alice.session(session_id).json["title"]


@pytest.mark.wire_model
def test_a_turn_after_files_reads_their_bytes_in_one_statement(app: Flask, alice: ApiUser) -> None:
    """A later turn of a conversation with files runs one statement more than a text-only
    turn (the bytes of the files sent, in one query, read once the history is final and
    ending its own read transaction before the model is asked)."""
    with app.app_context():
        recorder = Recorder(db.engine)
    files = [upload(alice, f"{n}.png") for n in range(3)]
    session_id = reply_of(MESSAGE, send(alice, MESSAGE, "first", files[:2]))["sessionId"]
    reply_of(MESSAGE, send(alice, MESSAGE, "second", files[2:], session_id))

    statements, commits = recorder.measure(lambda: alice.send("third", session_id))
    assert len(statements) == TURN_STATEMENTS + 1, statements
    assert commits == 3


# --- with branches and summaries -------------------------------------------------------------


@pytest.mark.wire_model
def test_a_regenerated_reply_is_sent_its_messages_files_again(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Regenerating the reply to a message with an image sends that image again with it;
    the file stays the message's (nothing is attached twice)."""
    png = image_bytes("PNG", color="green")
    file_id = upload(alice, "green.png", png)
    first = reply_of(MESSAGE, send(alice, MESSAGE, "What is this?", [file_id]))
    session_id = first["sessionId"]

    response = alice.call(
        "POST", f"/api/v1/chat/session/{session_id}/regenerate", {"messageId": first["messageId"]}
    )
    assert response.status_code == 200, response.json

    original, regenerated = turns(wire)
    assert inline_parts(regenerated) == inline_parts(original)
    assert inline_parts(regenerated) == [[{"mimeType": "image/png", "data": encoded(png)}]]
    user, reply = alice.session(session_id).json["messages"]
    assert [file["id"] for file in user["attachments"]] == [file_id]
    assert reply["siblingCount"] == 2 and reply["omittedAttachments"] == []


@pytest.mark.wire_model
def test_files_of_the_turns_kept_beside_a_summary_are_sent(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """When older turns are summarised, the turns kept beside the summary still carry their
    files (they get the room the summary leaves), and a file of a summarised turn is not
    sent (its turn is not)."""
    old_png, new_png = image_bytes("PNG", color="blue"), image_bytes("PNG", color="red")
    long = "word " * 160  # 200 estimated tokens, echoed back by the wire server
    session_id = reply_of(MESSAGE, send(alice, MESSAGE, long, [upload(alice, "old.png", old_png)]))[
        "sessionId"
    ]
    for _ in range(3):
        reply_of(MESSAGE, send(alice, MESSAGE, long, [], session_id))
    reply_of(MESSAGE, send(alice, MESSAGE, "look", [upload(alice, "new.png", new_png)], session_id))

    app.config["CHAT_CONTEXT_TOKENS"] = 700  # the four long exchanges no longer fit
    wire.script(Reply(text="They talked about words."), Reply(text="A red square."))
    reply = reply_of(MESSAGE, send(alice, MESSAGE, "and now?", [], session_id))

    last = turns(wire)[-1]
    assert "They talked about words." in str(last.body["systemInstruction"])
    assert [c["parts"][-1].get("text") for c in last.body["contents"]][::2] == ["look", "and now?"]
    assert inline_parts(last) == [[{"mimeType": "image/png", "data": encoded(new_png)}], [], []]
    assert reply["omittedAttachments"] == []


@pytest.mark.wire_model
def test_an_edited_message_keeps_its_files(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Editing a message with an image sends the new version with the image; the new
    version holds a copy (a file belongs to one message), the old version keeps its own."""
    png = image_bytes("PNG", color="yellow")
    file_id = upload(alice, "yellow.png", png)
    first = reply_of(MESSAGE, send(alice, MESSAGE, "What is this?", [file_id]))
    session_id = first["sessionId"]
    original = alice.session(session_id).json["messages"][0]

    response = alice.call(
        "POST",
        f"/api/v1/chat/session/{session_id}/edit",
        {"messageId": original["id"], "message": "What colour is this?"},
    )
    assert response.status_code == 200, response.json

    edited = turns(wire)[-1]
    assert inline_parts(edited) == [[{"mimeType": "image/png", "data": encoded(png)}]]
    user, _ = alice.session(session_id).json["messages"]
    (copy,) = user["attachments"]
    assert copy["id"] != file_id and copy["name"] == "yellow.png"
    assert alice.call("GET", f"/api/v1/files/{copy['id']}/content").data == png
    assert alice.call("GET", f"/api/v1/files/{file_id}").status_code == 200
    assert counts(app)[2] == 2  # the original, still attached to the old version, and the copy


@pytest.mark.wire_model
def test_a_message_of_only_files_may_be_edited_to_only_files(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """An edit's text may be empty when the message has files (the new version keeps
    them); without files an empty edit is a 400 naming the field, and nothing changes."""
    png = image_bytes("PNG", color="white")
    session_id = reply_of(MESSAGE, send(alice, MESSAGE, "", [upload(alice, "w.png", png)]))[
        "sessionId"
    ]
    only_files = alice.session(session_id).json["messages"][0]
    edit = f"/api/v1/chat/session/{session_id}/edit"

    response = alice.call("POST", edit, {"messageId": only_files["id"], "message": ""})
    assert response.status_code == 200, response.json
    assert inline_parts(turns(wire)[-1]) == [[{"mimeType": "image/png", "data": encoded(png)}]]

    text_only = reply_of(MESSAGE, send(alice, MESSAGE, "words", [], session_id))
    before = alice.session(session_id).json["messages"]
    words = before[-2]
    assert words["id"] != text_only["messageId"] and words["content"] == "words"
    response = alice.call("POST", edit, {"messageId": words["id"], "message": "  "})
    assert response.status_code == 400
    assert response.json["details"][0]["field"] == "message"
    assert alice.session(session_id).json["messages"] == before
