"""The baseline of ``bench.chat_turns``: the smallest correct chat app (issue 15, target 1).

Flask, the standard library's sqlite3 and google-genai, served by gunicorn like chatapp.
Per turn: one SELECT of the conversation's history, ``client.chats.create(history=...)`` and
``send_message`` (not streamed), two INSERTs (the message and the reply) in one commit. No
accounts, no locks, no failure handling: what chatapp must beat by doing more, faster.

Environment: ``MINIMAL_DB`` (SQLite file), ``GEMINI_BASE_URL`` (the wire server),
``GEMINI_MODEL``. Served as ``gunicorn bench.minimal_app:app``.
"""

from __future__ import annotations

import os
import sqlite3
import uuid

from flask import Flask, request
from google import genai
from google.genai import types

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS message (id INTEGER PRIMARY KEY, session TEXT NOT NULL,"
    " role TEXT NOT NULL, content TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS message_session ON message (session, id);"
)

app = Flask(__name__)
client = genai.Client(
    api_key="bench-key",
    http_options=types.HttpOptions(
        base_url=os.environ["GEMINI_BASE_URL"], api_version="v1beta", timeout=60_000
    ),
)
MODEL = os.environ.get("GEMINI_MODEL", "gemini-bench")


def connect() -> sqlite3.Connection:
    """A connection to the SQLite file (WAL, so readers do not wait for the writer)."""
    connection = sqlite3.connect(os.environ["MINIMAL_DB"], timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(SCHEMA)
    return connection


@app.get("/health")
def health() -> str:
    """Ready."""
    return "ok"


@app.post("/message")
def message() -> dict[str, str]:
    """One turn: read the history, ask the model through a chat, store both messages."""
    body = request.get_json()
    session = body.get("sessionId") or str(uuid.uuid4())
    with connect() as connection:
        rows = connection.execute(
            "SELECT role, content FROM message WHERE session = ? ORDER BY id", (session,)
        ).fetchall()
        history = [types.Content(role=role, parts=[types.Part(text=text)]) for role, text in rows]
        chat = client.chats.create(model=MODEL, history=history)
        reply = chat.send_message(body["message"]).text or ""
        connection.executemany(
            "INSERT INTO message (session, role, content) VALUES (?, ?, ?)",
            [(session, "user", body["message"]), (session, "model", reply)],
        )
    connection.close()
    return {"sessionId": session, "content": reply}
