"""Synthetic chunk corpora for the retrieval benchmark, and loading them fast into each store.

Vectors are built like the wire server's embeddings (and, roughly, like real ones): the
normalised sum of per-word vectors, with words drawn mostly from the chunk's topic. Texts on
one topic are therefore near each other, as passages of one subject are.

Each store is a chatapp app on its own database: SQLite in a file, and two PostgreSQL
schemas of one database given to the benchmark: ``public`` (its chatapp tables are replaced),
where the ``vector`` type is visible (pgvector, HNSW), and ``bench_exact``, where it is not
(exact search over ``real[]``).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from sqlalchemy import insert, text

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import Chunk, Collection, Document
from chatapp.services import accounts
from chatapp.services.knowledge import vector_schema, vectors

MODEL = "gemini-embedding-001"
VOCABULARY = 20_000
TOPICS = 2_000
TOPIC_WORDS = 40
WORDS_PER_CHUNK = 40
QUERY_WORDS = 6
CHUNKS_PER_DOCUMENT = 50


class Corpus:
    """Deterministic word-sum vectors: chunks, and queries on the same topics."""

    def __init__(self, dim: int, seed: int = 7) -> None:
        self.dim = dim
        self.rng = np.random.default_rng(seed)
        words = self.rng.standard_normal((VOCABULARY, dim)).astype("<f4")
        self.words = words / np.linalg.norm(words, axis=1, keepdims=True)
        zipf = 1.0 / np.arange(1, VOCABULARY + 1)
        self.common = zipf / zipf.sum()
        self.topics = self.rng.choice(VOCABULARY, size=(TOPICS, TOPIC_WORDS), p=self.common)

    def _vectors(self, rows: int, length: int, from_topic: float) -> np.ndarray:
        """``rows`` texts of ``length`` words, ``from_topic`` of them from one topic each."""
        out = np.empty((rows, self.dim), dtype="<f4")
        for start in range(0, rows, 1000):
            count = min(1000, rows - start)
            topics = self.rng.integers(TOPICS, size=count)
            on_topic = round(length * from_topic)
            picks = self.rng.integers(TOPIC_WORDS, size=(count, on_topic))
            ids = np.hstack(
                [
                    self.topics[topics[:, None], picks],
                    self.rng.choice(VOCABULARY, size=(count, length - on_topic), p=self.common),
                ]
            )
            summed = self.words[ids].sum(axis=1)
            out[start : start + count] = summed / np.linalg.norm(summed, axis=1, keepdims=True)
        return out

    def chunks(self, rows: int) -> np.ndarray:
        """Vectors of ``rows`` new chunks."""
        return self._vectors(rows, WORDS_PER_CHUNK, 0.75)

    def queries(self, rows: int) -> np.ndarray:
        """Vectors of ``rows`` short questions."""
        return self._vectors(rows, QUERY_WORDS, 0.67)


@dataclass
class Store:
    """One database holding the corpus: alice's 1% in her collection, bob's 99% in his."""

    name: str
    app: Flask
    kind: str  # "sqlite", "postgres-exact" or "pgvector"
    collections: dict[str, uuid.UUID] = field(default_factory=dict)
    loaded: int = 0

    def user(self, name: str):
        """The user called ``name``."""
        found = accounts.find_user(name)
        assert found is not None
        return found


def open_store(name: str, kind: str, url: str, **overrides: Any) -> Store:
    """A fresh chatapp schema at ``url`` with alice, bob and one collection each."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "GEMINI_API_KEY": "",
        **overrides,
    }
    store = Store(name, create_app(config), kind)
    with store.app.app_context():
        db.drop_all()
        db.create_all()
        for user in ("alice", "bob"):
            owner = accounts.create_user(user, f"{user}@example.com", "", password_hash="x")
            collection = Collection(owner_id=owner.id, name=f"{user}'s")
            db.session.add(collection)
            db.session.flush()
            store.collections[user] = collection.id
        db.session.commit()
    return store


def sqlite_url(tmp: Path) -> str:
    """A new SQLite file."""
    return f"sqlite:///{tmp / 'retrieval.db'}"


def add(store: Store, embeddings: np.ndarray, owner: str) -> None:
    """Append chunks with ``embeddings`` to ``owner``'s collection, in documents of 50."""
    with store.app.app_context():
        collection_id = store.collections[owner]
        for start in range(0, len(embeddings), CHUNKS_PER_DOCUMENT):
            part = embeddings[start : start + CHUNKS_PER_DOCUMENT]
            document = Document(
                collection_id=collection_id,
                title=f"doc {store.loaded + start}",
                mime_type="text/plain",
                content_hash=uuid.uuid4().hex,
                text="",
                status="ready",
            )
            db.session.add(document)
            db.session.flush()
            if store.kind == "sqlite":
                _insert_sqlite(document, part)
            else:
                _copy_postgres(document, part, store.kind == "pgvector")
        db.session.commit()
    store.loaded += len(embeddings)


def _insert_sqlite(document: Document, part: np.ndarray) -> None:
    """An executemany of plain rows, BLOBs as chatapp stores them."""
    db.session.execute(
        insert(Chunk), [_row(document, i, vector.tobytes()) for i, vector in enumerate(part)]
    )


def _row(document: Document, position: int, blob: bytes | None) -> dict[str, object]:
    """A chunk row of ``document``."""
    return {
        "document_id": document.id,
        "collection_id": document.collection_id,
        "generation": 0,
        "position": position,
        "text": f"passage {position}",
        "start_char": 0,
        "end_char": 1,
        "embedding_model": MODEL,
        "embedding_dim": None if blob is None else len(blob) // 4,
        "embedding": blob,
    }


COPY_COLUMNS = (
    "document_id, collection_id, generation, position, text, start_char, end_char,"
    " embedding_model, embedding_dim, embedding_vec"
)


def _copy_postgres(document: Document, part: np.ndarray, pgvector: bool) -> None:
    """Binary COPY straight into the vector mirror (the BLOB stays empty: only SQLite reads it)."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY chunks ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
        for position, vector in enumerate(part):
            copy.write(b"".join(_binary_row(document, position, vector, pgvector)))
        copy.write(struct.pack(">h", -1))


def _binary_row(
    document: Document, position: int, vector: np.ndarray, pgvector: bool
) -> Iterator[bytes]:
    """One row in COPY's binary format."""
    words = f"passage {position}".encode()
    fields = [
        document.id.bytes,
        document.collection_id.bytes,
        struct.pack(">i", 0),
        struct.pack(">i", position),
        words,
        struct.pack(">i", 0),
        struct.pack(">i", 1),
        MODEL.encode(),
        struct.pack(">i", len(vector)),
        _vector_binary(vector) if pgvector else _real_array_binary(vector),
    ]
    yield struct.pack(">h", len(fields))
    for value in fields:
        yield struct.pack(">i", len(value)) + value


def _vector_binary(vector: np.ndarray) -> bytes:
    """pgvector's binary form: dimensions, a reserved word, big-endian float32s."""
    return struct.pack(">HH", len(vector), 0) + vector.astype(">f4").tobytes()


def _real_array_binary(vector: np.ndarray) -> bytes:
    """A one-dimensional ``real[]`` in PostgreSQL's binary array form (float4 oid 700)."""
    items = np.empty(len(vector), dtype=[("length", ">i4"), ("value", ">f4")])
    items["length"] = 4
    items["value"] = vector
    return struct.pack(">iiiii", 1, 0, 700, len(vector), 1) + items.tobytes()


def drop_index(store: Store, dim: int) -> None:
    """Drop the HNSW index before a bulk load (rebuilt by :func:`build_index`)."""
    with store.app.app_context(), db.engine.begin() as connection:
        connection.execute(text(f"DROP INDEX IF EXISTS {vector_schema.index_name(dim)}"))


def build_index(store: Store, dim: int) -> None:
    """(Re)build the HNSW index after loading, as operators would for a bulk import."""
    with store.app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text(f"DROP INDEX IF EXISTS {vector_schema.index_name(dim)}"))
            connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            vector_schema.create_hnsw_index(connection, dim)
            connection.execute(text("ANALYZE chunks"))
        vectors.forget_layout()


def analyze(store: Store) -> None:
    """Fresh planner statistics after a load."""
    with store.app.app_context(), db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
