"""What every benchmark needs: a local Gemini server, a database, and chatapp under gunicorn.

Everything runs as separate processes on this machine, as in production: the wire-format
server (``tests.support.gemini_wire``), gunicorn with ``gunicorn.conf.py``, and the benchmark's
clients in the calling process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path, pipe: bool = False
) -> Iterator[subprocess.Popen]:
    """Run ``command`` for the duration of the block, then stop it.

    Its output goes to ``log``; with ``pipe`` its stdout is left for the caller to read.
    """
    with log.open("w") as out:
        stdout = subprocess.PIPE if pipe else out
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=out, text=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    """Wait until ``url`` answers 200, or fail with the process's log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def wire_server(tmp: Path, chunk_delay: float = 0.0, chunks: int = 3) -> Iterator[str]:
    """Run the local Gemini server as a process; yield its base URL."""
    command = [sys.executable, "-m", "tests.support.gemini_wire", "--max-records", "100"]
    command += ["--chunk-delay", str(chunk_delay), "--chunks", str(chunks)]
    log = tmp / f"wire-{chunk_delay}-{chunks}.log"
    with running(command, dict(os.environ), log, pipe=True) as wire:
        yield wire.stdout.readline().strip()


def app_environment(database_url: str, wire_url: str, redis_url: str = "") -> dict[str, str]:
    """The environment gunicorn and the CLI run in: production mode, the local model
    server, rate limits off (a benchmark client is meant to exceed them)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GEMINI_", "GOOGLE_"))
    }
    env.update(
        CHATAPP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=database_url,
        GEMINI_API_KEY="bench-key",
        GEMINI_BASE_URL=wire_url,
        GEMINI_MODEL="gemini-bench",
        REDIS_URL=redis_url,
        RATELIMIT_ENABLED="false",
        PYTHONPATH=str(ROOT),
    )
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run a ``flask --app chatapp`` command; return its output."""
    command = [sys.executable, "-m", "flask", "--app", "chatapp", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare_database(env: dict[str, str]) -> str:
    """Migrate the database, create a fresh user, and return an API token for it."""
    flask(env, "init-db")
    name = f"bench{secrets.token_hex(4)}"
    flask(env, "create-user", name, "--email", f"{name}@example.com", "--password", "pw-bench-1")
    return flask(env, "create-token", name).strip().splitlines()[-1]


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    tmp: Path,
    workers: int,
    threads: int,
    app: str = "wsgi:app",
    health: str = "/api/health",
) -> Iterator[str]:
    """Serve ``app`` (chatapp by default) under gunicorn with ``gunicorn.conf.py``; yield
    its base URL."""
    with gunicorn_process(env, tmp, workers, threads, app, health) as (base_url, _):
        yield base_url


@contextlib.contextmanager
def gunicorn_process(
    env: dict[str, str],
    tmp: Path,
    workers: int,
    threads: int,
    app: str = "wsgi:app",
    health: str = "/api/health",
) -> Iterator[tuple[str, subprocess.Popen]]:
    """As :func:`gunicorn`, yielding the base URL and the gunicorn master process."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--threads", str(threads), app,
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    log = tmp / f"gunicorn-{port}.log"
    with running(command, env, log) as server:
        wait_ready(f"{base_url}{health}", server, log)
        yield base_url, server


def worker_rss_mb(master: int) -> list[float]:
    """The resident memory (MB) of each child process of ``master`` (gunicorn's workers)."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields["PPid"]) == master:
                sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sizes


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


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), to report with every number."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
