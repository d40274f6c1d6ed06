"""Several app instances as separate gunicorn processes on one PostgreSQL and one Redis.

Each instance is started as the README's Production section says (``gunicorn -c
gunicorn.conf.py wsgi:app`` with ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY`` and
``CHATAPP_ENV=production``) and spoken to over real HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession
from tests.support.app import POSTGRES_URL, free_port
from tests.support.clients import AuthActions
from tests.support.gemini_wire import GENERATE_METHODS, GeminiWireServer, Reply

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = "/api/v1/chat/message"
STREAM = "/api/v1/chat/message/stream"
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@contextmanager
def instance(log_dir: Path, **env: str) -> Iterator[str]:
    """Run the app under gunicorn in its own process group; yield its base URL."""
    with gunicorn(log_dir, **env) as (base, _):
        yield base


@contextmanager
def gunicorn(log_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the app under gunicorn; yield its base URL and the master process."""
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": POSTGRES_URL,
        "SECRET_KEY": "multiprocess-test-secret-of-32-bytes-at-least",
        "CHATAPP_ENV": "production",
        "GEMINI_API_KEY": "",
        "OFFLINE_MODEL_DELAY": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "8",
        **env,
    }
    log = (log_dir / f"gunicorn-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log_dir / f"gunicorn-{port}.log")
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for the health endpoint to answer, or fail with gunicorn's output."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            requests.get(f"{base}/api/health", timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # workers still booting
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within 30 s:\n{log.read_text()}")


def closed_port_url() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


def test_instances_sharing_redis_share_the_count(
    app: Flask, auth: AuthActions, redis_url: str, tmp_path: Path
) -> None:
    """Messages sent alternately to two instances draw on one per-user budget."""
    alice, bob = auth.headers("alice"), auth.headers("bob")
    with ExitStack() as stack:
        bases = [
            stack.enter_context(instance(tmp_path, REDIS_URL=redis_url, RATELIMIT_CHAT="4/minute"))
            for _ in range(2)
        ]
        remaining = []
        for turn in range(4):
            response = requests.post(
                bases[turn % 2] + MESSAGE, json={"message": "hi"}, headers=alice, timeout=30
            )
            assert response.status_code == 200, response.text
            remaining.append(response.headers["X-RateLimit-Remaining"])
        assert remaining == ["3", "2", "1", "0"]
        for base in bases:
            refused = requests.post(
                base + MESSAGE, json={"message": "hi"}, headers=alice, timeout=30
            )
            assert refused.status_code == 429
            assert refused.json()["code"] == "TOO_MANY_REQUESTS"
            assert int(refused.headers["Retry-After"]) > 0
        ok = requests.post(bases[1] + MESSAGE, json={"message": "hi"}, headers=bob, timeout=30)
        assert ok.status_code == 200


def test_instance_with_redis_down_still_serves(
    app: Flask, auth: AuthActions, tmp_path: Path
) -> None:
    """REDIS_URL points at a closed port: chats are answered and health says degraded."""
    headers = auth.headers()
    with instance(tmp_path, REDIS_URL=closed_port_url()) as base:
        for _ in range(3):
            response = requests.post(
                base + MESSAGE, json={"message": "hi"}, headers=headers, timeout=30
            )
            assert response.status_code == 200, response.text
        health = requests.get(f"{base}/api/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["redis"] == "error"
    assert "falling back to in-memory storage" in "".join(
        path.read_text() for path in tmp_path.glob("gunicorn-*.log")
    )


CONVERSATIONS = 10
TURNS = 4


def expected_history(conversation: int, turns: int) -> list[tuple[str, str]]:
    """The contents the model must receive for turn ``turns`` of a conversation."""
    history: list[tuple[str, str]] = []
    for turn in range(turns + 1):
        history.append(("user", f"conv{conversation} turn{turn}"))
        if turn < turns:
            history.append(("model", echo(conversation, turn)))
    return history


def echo(conversation: int, turn: int) -> str:
    """The wire server's default reply to that turn, given the full history."""
    return f"Echo: conv{conversation} turn{turn} (turns={2 * turn + 1})"


def chat(bases: list[str], headers: dict[str, str], conversation: int) -> list[str]:
    """Play one conversation, each turn on the other instance; return the replies."""
    session_id = None
    replies = []
    for turn in range(TURNS):
        base = bases[(conversation + turn) % len(bases)]
        body: dict[str, Any] = {"message": f"conv{conversation} turn{turn}"}
        if session_id:
            body["sessionId"] = session_id
        response = requests.post(base + MESSAGE, json=body, headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        session_id = response.json()["sessionId"]
        replies.append(response.json()["response"])
    return replies


def assert_each_message_stored_once(app: Flask) -> None:
    """Every conversation holds its whole history once, at consecutive positions."""
    with app.app_context():
        sessions = db.session.scalars(select(ChatSession)).all()
        assert len(sessions) == CONVERSATIONS
        for session in sessions:
            rows = db.session.scalars(
                select(ChatMessage)
                .where(ChatMessage.session_id == session.id)
                .order_by(ChatMessage.position)
            ).all()
            conversation = int(rows[0].content.split()[0].removeprefix("conv"))
            stored = [(m.role, m.content) for m in rows]
            assert stored == expected_history(conversation, TURNS)[:-1], session.id
            assert [m.position for m in rows] == list(range(2 * TURNS))
            assert {m.status for m in rows} == {"complete"}


def test_alternate_turns_on_two_instances_keep_full_history(
    app: Flask, auth: AuthActions, redis_url: str, tmp_path: Path
) -> None:
    """10 conversations at once, turns alternating between instances: nothing lost or doubled.

    Every model request carries the whole stored conversation, and the database holds each
    message exactly once, at consecutive positions.
    """
    headers = auth.headers()
    with GeminiWireServer() as wire, ExitStack() as stack:
        env = {
            "REDIS_URL": redis_url,
            "GEMINI_API_KEY": "x",
            "GEMINI_BASE_URL": wire.base_url,
            "RATELIMIT_CHAT": "1000/minute",
        }
        bases = [stack.enter_context(instance(tmp_path, **env)) for _ in range(2)]
        with ThreadPoolExecutor(CONVERSATIONS) as pool:
            replies = list(pool.map(lambda c: chat(bases, headers, c), range(CONVERSATIONS)))
        seen = wire.requests
        contents = [
            wire.contents(i) for i, r in enumerate(seen) if r.method_name in GENERATE_METHODS
        ]
    assert replies == [[echo(c, t) for t in range(TURNS)] for c in range(CONVERSATIONS)]
    turn_requests = {
        (c, t): [body for body in contents if body and body[-1] == ("user", f"conv{c} turn{t}")]
        for c in range(CONVERSATIONS)
        for t in range(TURNS)
    }
    for (c, t), bodies in turn_requests.items():
        assert bodies == [expected_history(c, t)], f"conversation {c}, turn {t}"
    assert_each_message_stored_once(app)


def children(pid: int) -> list[int]:
    """The ids of the running processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def stream_until_killed(base: str, headers: dict[str, str], master: int) -> str:
    """Start a streamed reply, SIGKILL the worker writing it after its first chunk; return
    the conversation's id once the client saw its connection cut."""
    session_id = ""
    with requests.post(
        base + STREAM, json={"message": "Doomed"}, headers=headers, stream=True, timeout=30
    ) as response:
        try:
            for line in response.iter_lines(decode_unicode=True):
                if not line.startswith("data: "):
                    continue
                event = json.loads(line.removeprefix("data: "))
                session_id = event.get("sessionId", session_id)
                if event["type"] == "content":
                    (worker,) = children(master)
                    os.kill(worker, signal.SIGKILL)
                assert event["type"] in ("start", "content"), event
        except requests.exceptions.ChunkedEncodingError:
            pass  # the connection died with the worker
    return session_id


def test_a_worker_killed_mid_stream_frees_the_conversation_within_seconds(
    app: Flask, auth: AuthActions, tmp_path: Path
) -> None:
    """kill -9 of the worker streaming a reply: another instance sees the turn abandoned as
    soon as its lease lapses, marks the message failed, and answers the next one."""
    headers = auth.headers()
    with GeminiWireServer() as wire, ExitStack() as stack:
        env = {
            "GEMINI_API_KEY": "x",
            "GEMINI_BASE_URL": wire.base_url,
            "GUNICORN_WORKERS": "1",
            "CHAT_TURN_LEASE": "3",
        }
        doomed, master = stack.enter_context(gunicorn(tmp_path, **env))
        survivor = stack.enter_context(instance(tmp_path, **env))
        wire.script(Reply(chunks=[f"w{i} " for i in range(100)], chunk_delay=0.2))
        session_id = stream_until_killed(doomed, headers, master.pid)

        page = f"{survivor}/api/v1/chat/session/{session_id}"
        deadline = time.monotonic() + 15  # the lease (3 s) and a renewal's worth of slack
        while requests.get(page, headers=headers, timeout=10).json()["generating"]:
            assert time.monotonic() < deadline, "the dead worker's turn still holds the lock"
            time.sleep(0.2)
        last = requests.get(page, headers=headers, timeout=10).json()["messages"][-1]
        assert (last["content"], last["status"]) == ("Doomed", "failed")
        assert last["error_code"] == "TURN_ABANDONED"

        body = {"message": "Next", "sessionId": session_id}
        reply = requests.post(survivor + MESSAGE, json=body, headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["response"] == "Echo: Next (turns=1)"  # the abandoned turn left out
