"""What a message's attachments are checked against, deleting a conversation with its
files, and the runner's periodic removal of files never attached."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from chatapp.errors import ApiError
from chatapp.extensions import db
from chatapp.models import ChatMessage, FileBlob, Job, UploadedFile, utcnow
from chatapp.services import accounts, files, jobs
from chatapp.services.files.service import CLEANUP_JOB
from tests.support.data import add_messages
from tests.support.files import upload_file

pytestmark = pytest.mark.app_config(
    FILES_PER_MESSAGE=3, FILES_PER_MESSAGE_BYTES=1000, FILES_CLEANUP_INTERVAL=600
)


def uploaded(user, count: int, size: int = 10) -> list[str]:
    """Upload ``count`` text files of ``size`` bytes; return their ids."""
    return [upload_file(user, f"{n}.txt", b"x" * size).json["id"] for n in range(count)]


def check(app: Flask, username: str, ids: list[str]) -> list[str]:
    """``check_attachments`` as ``username``: the ids it returns."""
    with app.app_context():
        user = accounts.find_user(username)
        return [str(file.id) for file in files.check_attachments(user, ids)]


def refusal(app: Flask, username: str, ids: list[str]) -> ApiError:
    """The error ``check_attachments`` raises for ``ids``."""
    with pytest.raises(ApiError) as raised:
        check(app, username, ids)
    return raised.value


def attach_to_first_message(app: Flask, session_id: str, ids: list[str]) -> None:
    """Attach files to a conversation's first message, as a turn will."""
    with app.app_context():
        message = db.session.scalars(
            select(ChatMessage).where(ChatMessage.session_id == uuid.UUID(session_id))
        ).first()
        user = accounts.find_user("alice")
        files.attach(files.check_attachments(user, ids), message)
        db.session.commit()


def count(app: Flask, model: type) -> int:
    """Rows of ``model``."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_check_returns_the_files_in_order_once_each(app, alice):
    """The files come back in the order asked, a repeated id once."""
    first, second = uploaded(alice, 2)
    assert check(app, "alice", [second, first, second]) == [second, first]
    assert check(app, "alice", []) == []


def test_check_refuses_someone_elses_or_impossible_ids(app, alice, bob):
    """bob's file, a random id and a malformed one are each a 404."""
    (mine,) = uploaded(alice, 1)
    (his,) = uploaded(bob, 1)
    for ids in ([mine, his], [str(uuid.uuid4())], ["not-an-id"]):
        error = refusal(app, "alice", ids)
        assert error.status == 404 and error.code == "NOT_FOUND"


def test_check_limits_count_and_bytes_per_message(app, alice):
    """Past FILES_PER_MESSAGE files, or FILES_PER_MESSAGE_BYTES bytes, a 413 names the limit."""
    many = uploaded(alice, 4)
    too_many = refusal(app, "alice", many)
    assert too_many.status == 413 and too_many.code == "TOO_MANY_ATTACHMENTS"
    assert "at most 3 files" in too_many.message and "FILES_PER_MESSAGE" in too_many.message
    assert len(check(app, "alice", many[:3])) == 3
    big = uploaded(alice, 2, size=600)
    too_big = refusal(app, "alice", big)
    assert too_big.status == 413 and too_big.code == "ATTACHMENTS_TOO_LARGE"
    assert "1000 bytes" in too_big.message and "FILES_PER_MESSAGE_BYTES" in too_big.message
    assert check(app, "alice", big[:1]) == big[:1]


def test_a_file_is_attached_once(app, alice):
    """A file already part of a message is a 409 for the next one."""
    (file_id,) = uploaded(alice, 1)
    session_id = add_messages(app, "alice", ("Look at this", utcnow()))
    attach_to_first_message(app, session_id, [file_id])
    error = refusal(app, "alice", [file_id])
    assert error.status == 409 and error.code == "FILE_ALREADY_ATTACHED"


def test_deleting_a_conversation_deletes_its_files(app, alice):
    """A conversation's attached files (and their bytes) go with it; others stay."""
    attached = uploaded(alice, 2)
    (loose,) = uploaded(alice, 1)
    other_session = add_messages(app, "alice", ("Keep me", utcnow()))
    (kept,) = uploaded(alice, 1)
    attach_to_first_message(app, other_session, [kept])
    session_id = add_messages(app, "alice", ("Look at these", utcnow()))
    attach_to_first_message(app, session_id, attached)
    assert count(app, FileBlob) == 4
    assert alice.call("DELETE", f"/api/v1/chat/session/{session_id}").status_code == 200
    for file_id in attached:
        assert alice.call("GET", f"/api/v1/files/{file_id}").status_code == 404
    for file_id in (loose, kept):
        assert alice.call("GET", f"/api/v1/files/{file_id}/content").status_code == 200
    assert count(app, FileBlob) == count(app, UploadedFile) == 2


def age(app: Flask, file_ids: list[str], hours: float) -> None:
    """Make files look uploaded ``hours`` ago."""
    with app.app_context():
        for file_id in file_ids:
            db.session.get(UploadedFile, uuid.UUID(file_id)).created_at = utcnow() - timedelta(
                hours=hours
            )
        db.session.commit()


def cleanup_jobs(app: Flask) -> list[Job]:
    """The clean-up job rows."""
    with app.app_context():
        jobs_found = db.session.scalars(select(Job).where(Job.kind == CLEANUP_JOB)).all()
        db.session.expunge_all()
        return list(jobs_found)


def test_runner_removes_files_never_attached_after_the_ttl(app, alice):
    """The periodic job removes unattached files older than FILES_UNATTACHED_TTL (24 h), and
    keeps fresh ones and attached old ones; then it is due again FILES_CLEANUP_INTERVAL
    later, one row however often runners start."""
    old, fresh, attached = uploaded(alice, 3)
    session_id = add_messages(app, "alice", ("Keep it", utcnow()))
    attach_to_first_message(app, session_id, [attached])
    age(app, [old, attached], hours=25)
    age(app, [fresh], hours=23)
    with app.app_context():
        jobs.schedule_periodic()
        jobs.schedule_periodic()  # a second runner starting: still one row
        assert jobs.run_pending() == 1
        db.session.remove()
    assert alice.call("GET", f"/api/v1/files/{old}").status_code == 404
    for file_id in (fresh, attached):
        assert alice.call("GET", f"/api/v1/files/{file_id}").status_code == 200
    assert count(app, FileBlob) == 2
    (job,) = cleanup_jobs(app)
    assert job.state == "queued" and job.attempts == 0
    due_in = (job.run_after - utcnow()).total_seconds()
    assert 590 < due_in <= 600


def test_two_cleanup_rows_become_one(app):
    """If two runners raced and queued two rows, the second run ends its own row."""
    with app.app_context():
        jobs.enqueue(CLEANUP_JOB, {})
        jobs.enqueue(CLEANUP_JOB, {})
        db.session.commit()
        assert jobs.run_pending() == 2
        db.session.remove()
    states = sorted(job.state for job in cleanup_jobs(app))
    assert states == ["done", "queued"]


def test_a_failing_cleanup_runs_again_later(app, monkeypatch):
    """A clean-up that fails is logged and queued again, never given up."""

    def broken() -> int:
        raise RuntimeError("store unreachable")

    monkeypatch.setattr("chatapp.services.files.service.remove_unattached", broken)
    with app.app_context():
        jobs.schedule_periodic()
        assert jobs.run_pending() == 1
        db.session.remove()
    (job,) = cleanup_jobs(app)
    assert job.state == "queued" and "store unreachable" in (job.error or "")
    assert (job.run_after - utcnow()).total_seconds() > 590


@pytest.mark.app_config(JOBS_IN_APP_WHEN_TESTING=True)
def test_the_in_app_runner_schedules_the_cleanup_itself(app, alice):
    """The runner each app process starts (the one indexing uses) queues the clean-up on
    its own and removes an expired file, with no one calling it."""
    with app.app_context():
        file = files.upload(accounts.find_user("alice"), b"old notes", "old.txt")
        file_id = str(file.id)
    age(app, [file_id], hours=25)
    runner = None
    try:
        assert alice.call("GET", "/api/v1/files").json["total"] == 1  # starts the runner
        runner = app.extensions["jobs"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not count(app, UploadedFile) and [j.state for j in cleanup_jobs(app)] == ["queued"]:
                break
            time.sleep(0.1)
        assert alice.call("GET", f"/api/v1/files/{file_id}").status_code == 404
        assert [job.state for job in cleanup_jobs(app)] == ["queued"]
    finally:
        if runner is not None:
            runner.stop()
