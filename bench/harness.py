"""What every benchmark needs: a local Gemini server, a database, and chatapp under gunicorn.

Everything runs as separate processes on this machine, as in production: the wire-format
server (``tests.gemini_wire``), gunicorn with the production worker class, and the
benchmark's clients in the calling process.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def wire_server(chunk_delay: float = 0.0, chunks: int = 20) -> Iterator[str]:
    """Run the local Gemini server as a process; yield its base URL."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.gemini_wire", "--port", "0"),
            *("--chunk-delay", str(chunk_delay), "--chunks", str(chunks), "--max-records", "100"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """Yield ``url``, or a fresh SQLite file in a temporary directory when it is ``None``."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def app_env(database_url: str, gemini_url: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmarked chatapp: no rate limits, the local model server."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        GEMINI_API_KEY="bench-key",
        GEMINI_BASE_URL=gemini_url,
        GEMINI_RETRIES="1",
        RATELIMIT_ENABLED="false",
        SECRET_KEY="bench-secret",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run a ``flask --app chatapp`` command; return its last line of output."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "chatapp", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def bench_user(env: dict[str, str], name: str = "bench") -> str:
    """Migrate the database, create a user if needed, and return a fresh API token."""
    flask(env, "init-db")
    with suppress(subprocess.CalledProcessError):  # the user exists from an earlier run
        flask(env, "create-user", name, "--email", f"{name}@example.com", "--password", "x" * 12)
    return flask(env, "create-token", name, "--name", "bench")


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int) -> Iterator[str]:
    """Serve chatapp under gunicorn with the threaded worker class; yield its base URL."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", str(workers)]
    command += ["--threads", str(threads), "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    command += ["--log-level", "warning", "--timeout", "120"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def _wait_healthy(base: str, timeout: float = 30.0) -> None:
    """Wait until ``/api/health`` answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/api/health", timeout=1).status_code < 500:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"chatapp did not start at {base}")


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` (nearest rank; 0.0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def summary_ms(values: Sequence[float]) -> str:
    """``p50 / p99 / mean`` of durations in seconds, as milliseconds."""
    if not values:
        return "n/a"
    return (
        f"p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms, "
        f"mean {statistics.fmean(values) * 1000:.1f} ms"
    )
