"""Export and import through the API: round trips, duplicates, broken files, access."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask

from tests.support.clients import ApiUser
from tests.support.data import count_stored
from tests.transfer.conftest import (
    START,
    contents,
    export_all,
    import_file,
    store_conversation,
)

pytestmark = pytest.mark.app_config(OFFLINE_MODEL_DELAY=0)


def test_export_import_export_gives_the_same_content(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    """Everything alice exports comes back the same in bob's account, under new ids."""
    ids = [
        store_conversation(app, "alice", "Beans"),
        store_conversation(app, "alice", "Tomatoes", START + timedelta(days=1)),
    ]
    archive = alice.call("PATCH", f"/api/v1/chat/session/{ids[1]}", {"archived": True})
    assert archive.status_code == 200
    first = export_all(alice)

    report = import_file(bob, json.dumps(first).encode())
    assert report.status_code == 200, report.json
    assert (report.json["imported"], report.json["skipped"], report.json["failed"]) == (2, 0, 0)
    assert set(report.json["sessionIds"]).isdisjoint(ids)
    second = export_all(bob)

    assert contents(second) == contents(first)
    assert first["format"] == "chatapp.export" and first["version"] == 1
    beans = next(c for c in contents(first) if c["title"] == "Beans")
    assert beans["personality"]["name"] == "Coach"
    assert [m["status"] for m in beans["messages"]][1:3] == ["complete", "failed"]
    assert beans["messages"][2]["errorCode"] == "MODEL_UNAVAILABLE"
    assert beans["messages"][1]["sources"][0]["url"] == "https://example.com/garden"
    assert beans["createdAt"] == START.isoformat()
    archived = {c["title"]: c["archived"] for c in contents(second)}
    assert archived == {"Beans": False, "Tomatoes": True}


def test_imported_conversation_can_be_read_and_continued(app: Flask, alice: ApiUser) -> None:
    """An imported conversation is an ordinary one: listed, read, and answered in."""
    store_conversation(app, "alice", "Beans")
    exported = export_all(alice)
    exported["conversations"][0]["title"] = "Beans (copy)"
    new_id = import_file(alice, json.dumps(exported).encode()).json["sessionIds"][0]

    page = alice.session(new_id).json
    assert page["title"] == "Beans (copy)"
    assert [m["role"] for m in page["messages"]][:2] == ["user", "assistant"]
    assert alice.send("And peas?", new_id).status_code == 200
    assert alice.session(new_id).json["message_count"] == 7


def test_importing_the_same_file_twice_creates_nothing_new(app: Flask, alice: ApiUser) -> None:
    """The second import of a file skips every conversation, naming why."""
    store_conversation(app, "alice", "Beans")
    data = json.dumps(export_all(alice)).encode()
    assert import_file(alice, data).json["imported"] == 1
    before = count_stored(app)

    again = import_file(alice, data).json

    assert (again["imported"], again["skipped"], again["failed"]) == (0, 1, 0)
    assert again["problems"][0]["code"] == "DUPLICATE"
    assert again["problems"][0]["title"] == "Beans"
    assert count_stored(app) == before


def test_json_body_and_form_field_imports(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    """The export can be sent as the JSON body (led by blanks), or as a form field's text."""
    store_conversation(app, "alice", "Beans")
    text = "\n  " + json.dumps(export_all(alice))
    body = bob.call("POST", "/api/v1/chat/import", data=text, content_type="application/json")
    assert body.status_code == 200, body.json
    assert body.json["imported"] == 1
    form = {"file": text.replace("Beans", "Peas")}
    field = bob.call("POST", "/api/v1/chat/import", data=form, content_type="multipart/form-data")
    assert field.status_code == 200, field.json
    assert field.json["imported"] == 1


def broken_files() -> list[tuple[str, bytes, str]]:
    """Files that are not an export at all, and what the 400 must name."""
    valid = {"format": "chatapp.export", "version": 1, "exportedAt": START.isoformat()}
    whole = json.dumps({**valid, "conversations": [{"title": "x"}] * 3})
    return [
        ("truncated", whole[: len(whole) // 2].encode(), "not valid JSON"),
        ("not JSON", b"title,text\nBeans,plant\n", "not valid JSON"),
        ("empty", b"", "empty"),
        ("blank", b"  \n", "not valid JSON"),
        ("a number", b"42", "single JSON value"),
        ("foreign object", json.dumps({"messages": []}).encode(), "no format"),
        ("other format", json.dumps({"format": "other"}).encode(), "'other'"),
        ("newer version", json.dumps({**valid, "version": 99}).encode(), "version 99"),
        ("no list", json.dumps({**valid, "conversations": {}}).encode(), "JSON array"),
        ("not objects", json.dumps({**valid, "conversations": [{}, 5]}).encode(), "2 is not"),
        ("ChatGPT not objects", b'[{"mapping": {}}, "x"]', "Conversation 2 is not a JSON"),
        ("NUL byte", b'{"format": "chatapp.export", "version": 1\x00}', "not valid JSON"),
    ]


@pytest.mark.parametrize(
    ("data", "named"), [c[1:] for c in broken_files()], ids=[c[0] for c in broken_files()]
)
def test_a_file_that_is_not_an_export_imports_nothing(
    app: Flask, alice: ApiUser, data: bytes, named: str
) -> None:
    """A truncated, malformed or foreign file is a 400 naming the problem; nothing changes."""
    store_conversation(app, "alice", "Beans")
    before = count_stored(app)

    response = import_file(alice, data)

    assert response.status_code == 400
    assert response.json["code"] == "INVALID_IMPORT_FILE"
    assert named in response.json["message"]
    assert count_stored(app) == before


def test_bad_conversations_fail_alone(app: Flask, alice: ApiUser) -> None:
    """A conversation the file gets wrong fails, all or nothing; the others are imported."""
    store_conversation(app, "alice", "Beans")
    exported = export_all(alice)
    good = exported["conversations"][0]
    wrong_role = {**good, "title": "Bad role", "messages": [{**good["messages"][0], "role": "x"}]}
    nul = {**good, "title": "NUL", "messages": [{**good["messages"][0], "content": "a\x00b"}]}
    ancient = {**good, "title": "Ancient", "createdAt": "0001-01-01T00:00:00+01:00"}
    exported["conversations"] = [wrong_role, {**good, "title": "Fine"}, nul, ancient]
    before = count_stored(app)

    report = import_file(alice, json.dumps(exported).encode()).json

    assert (report["imported"], report["skipped"], report["failed"]) == (1, 0, 3)
    problems = {p["index"]: p for p in report["problems"]}
    assert "messages.0.role" in problems[0]["reason"]
    assert "NUL" in problems[2]["reason"]
    assert problems[3]["reason"] == "createdAt: Value error, the time is out of range"
    sessions, messages = count_stored(app)
    assert (sessions, messages) == (before[0] + 1, before[1] + 5)


def test_unknown_fields_are_ignored(app: Flask, alice: ApiUser) -> None:
    """A file with fields this version does not know (a later feature) still imports."""
    store_conversation(app, "alice", "Beans")
    exported = export_all(alice)
    exported["conversations"][0]["archived"] = True
    exported["conversations"][0]["counter"] = 2**80  # past 64 bits: the exact parser reads it
    exported["conversations"][0]["messages"][0]["attachments"] = [{"name": "a.png"}]
    exported["conversations"][0]["title"] = "Beans again"
    assert import_file(alice, json.dumps(exported).encode()).json["imported"] == 1


def test_one_conversation_as_json_and_markdown(app: Flask, alice: ApiUser) -> None:
    """One conversation downloads as an importable file or a readable document."""
    session_id = store_conversation(app, "alice", "Beans")
    path = f"/api/v1/chat/session/{session_id}/export"

    as_json = alice.call("GET", path)
    document = alice.call("GET", path, query_string={"format": "markdown"})

    assert as_json.status_code == 200
    assert 'filename="chatapp-beans-' in as_json.headers["Content-Disposition"]
    assert [c["title"] for c in as_json.json["conversations"]] == ["Beans"]
    assert document.status_code == 200
    assert document.mimetype == "text/markdown"
    text = document.get_data(as_text=True)
    assert text.startswith("# Beans\n")
    assert "## You · 2026-03-01 09:30 UTC" in text
    assert "*Failed (MODEL_UNAVAILABLE)*" in text
    assert "[Garden notes](https://example.com/garden)" in text
    assert alice.call("GET", path, query_string={"format": "pdf"}).status_code == 400


def test_another_users_conversation_cannot_be_exported(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    """bob gets a 404 for alice's conversation, and his export holds none of hers."""
    session_id = store_conversation(app, "alice", "Beans")
    for query in ({}, {"format": "markdown"}):
        response = bob.call("GET", f"/api/v1/chat/session/{session_id}/export", query_string=query)
        assert response.status_code == 404
    assert contents(export_all(bob)) == []


@pytest.mark.app_config(OFFLINE_MODEL_DELAY=0, IMPORT_MAX_BYTES=1024)
def test_import_size_limit(app: Flask, alice: ApiUser) -> None:
    """A file past IMPORT_MAX_BYTES is a 413, as a file and as a JSON body."""
    big = json.dumps({"format": "chatapp.export", "pad": "x" * 200_000}).encode()
    assert import_file(alice, big).status_code == 413
    body = alice.call("POST", "/api/v1/chat/import", data=big, content_type="application/json")
    assert body.status_code == 413
    assert count_stored(app) == (0, 0)


@pytest.mark.app_config(OFFLINE_MODEL_DELAY=0, RATELIMIT_TRANSFERS="2 per minute")
def test_exports_of_everything_and_imports_share_a_limit(app: Flask, alice: ApiUser) -> None:
    """Exporting everything and importing draw on one budget; single exports do not."""
    session_id = store_conversation(app, "alice", "Beans")
    data = json.dumps(export_all(alice)).encode()
    assert import_file(alice, data).status_code == 200
    assert import_file(alice, data).status_code == 429
    assert alice.call("GET", "/api/v1/chat/export").status_code == 429
    assert alice.call("GET", f"/api/v1/chat/session/{session_id}/export").status_code == 200


def test_export_of_everything_is_streamed(app: Flask, alice: ApiUser) -> None:
    """The whole export arrives piece by piece (one piece per conversation), not built in
    memory first; the pieces join into one valid export file."""
    for day in range(3):
        store_conversation(app, "alice", f"Day {day}", START + timedelta(days=day))
    response = alice.client.get("/api/v1/chat/export", headers=alice.headers, buffered=False)

    assert response.is_streamed
    pieces = list(response.response)
    response.close()

    assert len(pieces) == 3 + 2  # the opening, each conversation, the closing
    export = json.loads(b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces))
    assert [c["title"] for c in export["conversations"]] == ["Day 2", "Day 1", "Day 0"]
