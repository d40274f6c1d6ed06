"""The database tables, as typed SQLAlchemy 2.0 models.

Rules live in ``chatapp.services``; models hold only small invariants.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from chatapp.extensions import db


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(db.TypeDecorator):
    """A timestamp stored in UTC that always comes back timezone-aware (SQLite drops zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Store every timestamp in UTC."""
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use chatapp.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Return a UTC-aware datetime whatever the backend returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class User(UserMixin, db.Model):
    """An account: a person in the browser, or a script through its API tokens."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An IANA zone name; weekly insights follow the user's own weeks.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Part of every login (session and remember cookie): bumping it ends them all.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    sessions: Mapped[list[ChatSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def set_password(self, password: str) -> None:
        """Store a salted scrypt hash of ``password``, never the password itself."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Return whether ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """The login id Flask-Login keeps in the session and remember cookie: ``id:version``."""
        return f"{self.id}:{self.session_version or 0}"


class ApiToken(db.Model):
    """A personal access token; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class ChatSession(db.Model):
    """A conversation, owned by one user."""

    __tablename__ = "chat_sessions"
    __table_args__ = (
        Index("ix_chat_sessions_user_updated", "user_id", "updated_at"),
        Index(
            "uq_chat_sessions_user_import_fingerprint",
            "user_id",
            "import_fingerprint",
            unique=True,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(200))
    # True once the user named the conversation: automatic titles never overwrite it.
    title_set_by_user: Mapped[bool] = mapped_column(Boolean, default=False)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    # The turn being generated, if any: one at a time per conversation, across workers.
    turn_id: Mapped[str | None] = mapped_column(String(36))
    turn_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The turn's holder renews this while it runs; past it, the holder is presumed dead and
    # the next turn (or a read of the conversation) takes the lock over.
    turn_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by a stop request from any worker; the worker streaming that turn polls it.
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Grounding: the knowledge collections searched on each turn (ids as strings), and
    # whether Google Search grounding is on.
    collection_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    web_search: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Archived (seed 002's reset, or the page's Archive): kept and readable, but no turn may
    # add to it until it is unarchived.
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # SHA-256 of an imported conversation's content: importing it again creates nothing.
    import_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The message the active path runs through (its ancestors above it; below it the newest
    # child at each step); NULL: from the first message. See services/chat/branches.py.
    active_message_id: Mapped[int | None] = mapped_column(Integer)

    user: Mapped[User] = relationship(back_populates="sessions")
    messages: Mapped[list[ChatMessage]] = relationship(
        back_populates="session",
        order_by="ChatMessage.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


# A message's status. A failed user message is never sent to the model again; an
# interrupted reply holds what arrived before a stop, a broken stream or a disconnect.
COMPLETE = "complete"
FAILED = "failed"
INTERRUPTED = "interrupted"


class ChatMessage(db.Model):
    """One message of a conversation, at a unique position within it (positions follow
    creation order), below its parent in the conversation's tree (NULL: a first message)."""

    __tablename__ = "chat_history"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    ROLES = ("user", "model")

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    # No ON DELETE: messages go only with their conversation (its cascade removes a whole
    # tree in one statement), and SQLite cannot reflect an option added in place.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("chat_history.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=COMPLETE)
    error_code: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(100))
    sources: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # How a grounded reply was grounded: {"retrieval", "retrievalError"?, "searchEntryPoint"?}.
    grounding: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)

    session: Mapped[ChatSession] = relationship(back_populates="messages")
    # Lets the unit of work delete a loaded tree children first (the foreign key has no
    # ON DELETE); read and written through ``parent_id`` everywhere else.
    parent: Mapped[ChatMessage | None] = relationship(remote_side=[id])


class ChatSummary(db.Model):
    """The model's summary of a conversation's path up to and including one message.

    Keyed by the last message it covers, so every branch whose path runs through that
    message shares it; a later summary of a longer prefix is made from it (never anew).
    """

    __tablename__ = "chat_summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True
    )
    through_message_id: Mapped[int] = mapped_column(
        ForeignKey("chat_history.id", ondelete="CASCADE"), unique=True
    )
    content: Mapped[str] = mapped_column(Text)
    # How many answered exchanges (user message and reply) of the path it stands for.
    pair_count: Mapped[int] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Personality(db.Model):
    """A named system prompt: built in (``user_id`` NULL, read-only) or a user's own."""

    __tablename__ = "personalities"

    # Built-ins have stable readable ids ("coach"); a user's own get a random hex id.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    system_prompt: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeeklyInsight(db.Model):
    """The model's review of one user's week (Saturday to Friday in the user's zone)."""

    __tablename__ = "weekly_insights"
    __table_args__ = (UniqueConstraint("user_id", "week_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    week_start: Mapped[datetime] = mapped_column(UTCDateTime)  # Saturday 00:00 local, in UTC
    week_end: Mapped[datetime] = mapped_column(UTCDateTime)  # Friday 23:59:59 local, in UTC
    content: Mapped[str] = mapped_column(Text)
    entry_count: Mapped[int] = mapped_column(Integer)  # conversations active that week
    model: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Collection(db.Model):
    """Knowledge: a user's own collection (``owner_id``), or a shared one (``owner_id`` NULL).

    Shared collections are written by admins and read by every user.
    """

    __tablename__ = "collections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    documents: Mapped[list[Document]] = relationship(
        back_populates="collection", cascade="all, delete-orphan", passive_deletes=True
    )


class Document(db.Model):
    """One document of a collection: its extracted text, indexing status and progress.

    ``generation`` counts (re)indexings; only chunks of the current generation are
    searched, so a re-index swaps a document's chunks atomically.
    """

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("collection_id", "content_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    collection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str | None] = mapped_column(String(1000))  # file name or path
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes received
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the extracted text
    text: Mapped[str] = mapped_column(Text)
    # Character offset where each PDF page starts (None for other types).
    pages: Mapped[list[int] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    embedded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    collection: Mapped[Collection] = relationship(back_populates="documents")


class Chunk(db.Model):
    """A passage of a document, where it came from, and its embedding (if any)."""

    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_document_generation", "document_id", "generation"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    # Denormalised from the document so access is decided inside the search query.
    collection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer)  # order within the document
    text: Mapped[str] = mapped_column(Text)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer)  # 1-based PDF page
    embedding_model: Mapped[str | None] = mapped_column(String(100))
    embedding_dim: Mapped[int | None] = mapped_column(Integer)
    # float32 little-endian, normalised; the vector search module owns its storage.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)


class Job(db.Model):
    """Background work (indexing a document, ...), claimed by one runner under a lease."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "index_document"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued/running/done/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UploadedFile(db.Model):
    """A file a user uploaded to attach to a message; its bytes live in a :mod:`store
    <chatapp.services.files.store>` (the ``file_blobs`` table by default), never here, so a
    list of files loads no content.

    ``message_id`` is set once the file is attached to a user message: deleting the message
    (or its conversation) deletes the file. A file never attached is removed after
    ``FILES_UNATTACHED_TTL``.
    """

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_user_created", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_history.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)  # bytes stored (after any conversion)
    width: Mapped[int | None] = mapped_column(Integer)  # images only, as displayed
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FileBlob(db.Model):
    """The bytes of an uploaded file, in the database store."""

    __tablename__ = "file_blobs"

    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
