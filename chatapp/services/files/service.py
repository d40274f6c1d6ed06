"""Files: uploading, listing, reading, deleting, the limits, and what attaching checks.

Another user's file behaves exactly like a missing one (404). Limits, each a 413 naming
its setting: ``FILES_MAX_BYTES`` per file, ``FILES_USER_QUOTA_BYTES`` per user,
``FILES_PER_MESSAGE`` files and ``FILES_PER_MESSAGE_BYTES`` bytes per message.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import PurePath

from flask import current_app
from sqlalchemy import ColumnElement, delete, func, select

from chatapp.errors import ApiError, NotFound, file_too_large
from chatapp.extensions import db
from chatapp.gemini import ModelError, estimate_file_tokens, get_model
from chatapp.ids import parse_id
from chatapp.models import ChatMessage, UploadedFile, User, utcnow
from chatapp.services import jobs
from chatapp.services.files import types
from chatapp.services.files.store import get_store

log = logging.getLogger(__name__)
CLEANUP_JOB = "files_cleanup"
CLEANUP_BATCH = 500
MAX_NAME = 255


def upload(user: User, data: bytes, filename: str | None) -> UploadedFile:
    """Check and store an uploaded file; it waits to be attached to a message."""
    limit = current_app.config["FILES_MAX_BYTES"]
    if len(data) > limit:
        raise file_too_large(limit, "FILES_MAX_BYTES")
    found = types.inspect(data, safe_name(filename))
    tokens = count_tokens(found.mime_type, found.data)  # before any row is locked
    _lock_quota(user)
    _check_quota(user, len(found.data))
    file = UploadedFile(
        id=uuid.uuid4(),
        user_id=user.id,
        name=found.name,
        mime_type=found.mime_type,
        size=len(found.data),
        width=found.width,
        height=found.height,
        sha256=hashlib.sha256(found.data).hexdigest(),
        tokens=tokens,
    )
    db.session.add(file)
    db.session.flush()
    get_store().put(file.id, found.data)
    db.session.commit()
    return file


def count_tokens(mime_type: str, data: bytes) -> int:
    """What a file costs in a prompt, counted once by the model; when the model cannot
    count it, an estimate (logged), so an upload never fails for it."""
    try:
        return get_model().count_tokens(mime_type, data)
    except ModelError as exc:
        log.warning("Counting a file's tokens failed (%s); using an estimate", exc.code)
        return estimate_file_tokens(mime_type, data)


def safe_name(filename: str | None) -> str:
    """The last part of an uploaded file's name, without control characters, at most
    255 characters (its extension kept); ``file`` when nothing is left."""
    base = PurePath((filename or "").replace("\\", "/")).name
    name = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    if len(name) > MAX_NAME:
        suffix = PurePath(name).suffix[:20]
        name = name[: MAX_NAME - len(suffix)] + suffix
    return name or "file"


def _lock_quota(user: User) -> None:
    """Hold the user's row until commit, so concurrent uploads are counted one by one
    (PostgreSQL; SQLite has one writer at a time anyway)."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def _check_quota(user: User, size: int) -> None:
    """Refuse ``size`` more bytes past ``FILES_USER_QUOTA_BYTES``."""
    quota = current_app.config["FILES_USER_QUOTA_BYTES"]
    used = db.session.scalar(
        select(func.coalesce(func.sum(UploadedFile.size), 0)).where(UploadedFile.user_id == user.id)
    )
    if used + size > quota:
        db.session.rollback()
        raise ApiError(
            413,
            "STORAGE_QUOTA_EXCEEDED",
            f"Your files would take more than {quota} bytes (you use {used}); delete some "
            "files or ask the operator to raise FILES_USER_QUOTA_BYTES.",
        )


def list_files(user: User, limit: int, offset: int) -> tuple[list[UploadedFile], int]:
    """One page of the user's files, newest first, and their total (no bytes loaded)."""
    where = UploadedFile.user_id == user.id
    total = db.session.scalar(select(func.count()).select_from(UploadedFile).where(where))
    rows = db.session.scalars(
        select(UploadedFile)
        .where(where)
        .order_by(UploadedFile.created_at.desc(), UploadedFile.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


def get_file(user: User, file_id: str | uuid.UUID) -> UploadedFile:
    """The user's file, or 404 (also for someone else's, or an id that cannot exist)."""
    key = parse_id(file_id)
    file = db.session.get(UploadedFile, key) if key else None
    if file is None or file.user_id != user.id:
        raise NotFound("File")
    return file


def read_content(user: User, file_id: str) -> tuple[UploadedFile, bytes]:
    """The user's file and its bytes."""
    file = get_file(user, file_id)
    data = get_store().get(file.id)
    if data is None:  # removed meanwhile
        raise NotFound("File")
    return file, data


def delete_file(user: User, file_id: str) -> uuid.UUID:
    """Delete one of the user's files, attached or not."""
    file = get_file(user, file_id)
    key = file.id
    _delete([key])
    db.session.commit()
    return key


def _delete(keys: Sequence[uuid.UUID], *conditions: ColumnElement[bool]) -> None:
    """Delete the files ``keys`` that meet ``conditions``, and their bytes (the caller
    commits)."""
    if keys:
        query = delete(UploadedFile).where(UploadedFile.id.in_(keys), *conditions)
        gone = db.session.scalars(query.returning(UploadedFile.id)).all()
        get_store().delete(list(gone))


def check_attachments(user: User, ids: Sequence[str]) -> list[UploadedFile]:
    """The files to attach to a new message, in the order given (repeats dropped).

    404 for a file that is not the user's, 409 for one already attached to a message,
    413 past ``FILES_PER_MESSAGE`` files or ``FILES_PER_MESSAGE_BYTES`` bytes. The rows are
    locked (PostgreSQL) until the caller commits, so the clean-up cannot remove them
    between this check and :func:`attach`.
    """
    keys = list(dict.fromkeys(ids))
    config = current_app.config
    if len(keys) > config["FILES_PER_MESSAGE"]:
        raise ApiError(
            413,
            "TOO_MANY_ATTACHMENTS",
            f"A message takes at most {config['FILES_PER_MESSAGE']} files (FILES_PER_MESSAGE).",
        )
    files = [_unattached(user, key) for key in keys]
    total = sum(file.size for file in files)
    if total > config["FILES_PER_MESSAGE_BYTES"]:
        raise ApiError(
            413,
            "ATTACHMENTS_TOO_LARGE",
            f"A message's files may add up to {config['FILES_PER_MESSAGE_BYTES']} bytes "
            f"(FILES_PER_MESSAGE_BYTES); these are {total}.",
        )
    return files


def _unattached(user: User, file_id: str) -> UploadedFile:
    """The user's file, locked for update, that is not attached to a message yet."""
    key = parse_id(file_id)
    query = select(UploadedFile).where(UploadedFile.id == key, UploadedFile.user_id == user.id)
    file = db.session.scalar(query.with_for_update()) if key else None
    if file is None:
        raise NotFound("File")
    if file.message_id is not None:
        raise ApiError(
            409,
            "FILE_ALREADY_ATTACHED",
            f"{file.name} is already part of a message; upload it again to send it again.",
        )
    return file


def attach(files: Sequence[UploadedFile], message: ChatMessage) -> None:
    """Make ``files`` part of ``message`` (the caller commits): they live as long as it."""
    for file in files:
        file.message_id = message.id


def copies_of(user: User, message_id: int) -> list[UploadedFile]:
    """Copies of a message's files, waiting to be attached to a new version of it (an edit
    keeps its message's files); the caller commits. A file belongs to one message, so the
    copies are new files with the same bytes, counted in the user's quota (413 past it)."""
    originals = attached_to([message_id]).get(message_id, [])
    data = get_store().get_many([file.id for file in originals]) if originals else {}
    originals = [file for file in originals if file.id in data]
    if not originals:
        return []
    _lock_quota(user)
    _check_quota(user, sum(file.size for file in originals))
    copies = [_copy(file) for file in originals]
    db.session.add_all(copies)
    db.session.flush()
    for copy, original in zip(copies, originals, strict=True):
        get_store().put(copy.id, data[original.id])
    return copies


def _copy(file: UploadedFile) -> UploadedFile:
    """A new, unattached file like ``file`` (its bytes are stored by the caller)."""
    columns = ("user_id", "name", "mime_type", "size", "width", "height", "sha256", "tokens")
    return UploadedFile(id=uuid.uuid4(), **{name: getattr(file, name) for name in columns})


def attached_to(message_ids: Sequence[int]) -> dict[int, list[UploadedFile]]:
    """The files of each of ``message_ids`` (oldest upload first), in one query."""
    found: dict[int, list[UploadedFile]] = {}
    if message_ids:
        rows = db.session.scalars(
            select(UploadedFile)
            .where(UploadedFile.message_id.in_(message_ids))
            .order_by(UploadedFile.created_at, UploadedFile.id)
        )
        for file in rows:
            found.setdefault(file.message_id or 0, []).append(file)
    return found


def contents(file_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    """The bytes of files, by id, in one read of the store."""
    return get_store().get_many(list(file_ids)) if file_ids else {}


def delete_for_session(session_id: uuid.UUID) -> None:
    """Delete the files attached to a conversation's messages (the caller commits).

    The database would cascade the rows; this also empties a store outside it.
    """
    keys = db.session.scalars(
        select(UploadedFile.id)
        .join(ChatMessage, ChatMessage.id == UploadedFile.message_id)
        .where(ChatMessage.session_id == session_id)
    ).all()
    _delete(keys)


def remove_unattached() -> int:
    """Delete files never attached and older than ``FILES_UNATTACHED_TTL``; return how many."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["FILES_UNATTACHED_TTL"])
    removed = 0
    while True:
        keys = db.session.scalars(
            select(UploadedFile.id)
            .where(UploadedFile.message_id.is_(None), UploadedFile.created_at < cutoff)
            .limit(CLEANUP_BATCH)
        ).all()
        if not keys:
            return removed
        _delete(keys, UploadedFile.message_id.is_(None))  # unless attached meanwhile
        db.session.commit()
        removed += len(keys)


def _run_cleanup(_ctx: jobs.JobContext) -> None:
    """The periodic job: remove expired unattached files."""
    removed = remove_unattached()
    if removed:
        current_app.logger.info("Removed %s files never attached to a message", removed)


jobs.register_periodic(
    CLEANUP_JOB, _run_cleanup, every=lambda: current_app.config["FILES_CLEANUP_INTERVAL"]
)
