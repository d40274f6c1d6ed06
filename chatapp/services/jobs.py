"""Background jobs: a table of work, claimed by one runner at a time under a lease.

Any feature queues work with :func:`enqueue` inside its own transaction (so the job exists
exactly when the change that needs it is committed) and registers a handler for its
``kind`` with :func:`register`. A runner claims the oldest due job: on PostgreSQL with
``SELECT … FOR UPDATE SKIP LOCKED`` (runners on many hosts never wait on each other), on
SQLite with a guarded ``UPDATE … WHERE state = 'queued'`` that only one runner can win.
A claim sets a lease of ``JOB_LEASE_SECONDS``; the handler renews it as it makes progress
(:meth:`JobContext.heartbeat`). A job whose lease lapsed (its worker died) is claimed
again, so work is never stuck. A handler raises :class:`Retry` to be run again later.

Periodic work (:func:`register_periodic`) is one row per kind, queued again after each run;
each runner queues it on start if missing (:func:`schedule_periodic`); a row finishing
while another of its kind is queued (two runners raced) ends, so one remains.

Runners: :func:`run_pending` (tests, the CLI), :class:`Runner` (a daemon thread in each app
process when ``JOBS_IN_APP`` is true) and ``flask --app chatapp worker``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, or_, select, update

from chatapp.extensions import db
from chatapp.models import Job, utcnow

log = logging.getLogger(__name__)
#: A job claimed this many times without finishing (its worker keeps dying) is given up.
MAX_ATTEMPTS = 10
POLL_SECONDS = 1.0
_start_lock = threading.Lock()


class Retry(Exception):
    """Raised by a handler: put the job back in the queue, due in ``delay`` seconds."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = delay


class Abandon(Exception):
    """Raised by a handler that recorded its own failure: the job ends ``failed``, quietly."""


class LeaseLost(Exception):
    """The job's lease lapsed and another runner claimed it: stop working on it."""


@dataclass
class Handler:
    """What runs a kind of job, and what to do when it is given up."""

    run: Callable[[JobContext], None]
    give_up: Callable[[dict[str, Any], str], None] | None = None
    every: Callable[[], float] | None = None  # periodic: seconds between runs


_handlers: dict[str, Handler] = {}


def register(
    kind: str,
    run: Callable[[JobContext], None],
    give_up: Callable[[dict[str, Any], str], None] | None = None,
) -> None:
    """Make ``run`` the handler of jobs of ``kind``."""
    _handlers[kind] = Handler(run, give_up)


def register_periodic(
    kind: str, run: Callable[[JobContext], None], every: Callable[[], float]
) -> None:
    """Run ``run`` every ``every()`` seconds, on one runner at a time across all hosts."""
    _handlers[kind] = Handler(run, every=every)


def schedule_periodic() -> None:
    """Queue each periodic job that has no queued or running row yet, due now."""
    for kind in (kind for kind, handler in _handlers.items() if handler.every is not None):
        live = select(Job.id).where(Job.kind == kind, Job.state.in_(("queued", "running"))).limit(1)
        if db.session.scalar(live) is None:
            enqueue(kind, {})
    db.session.commit()


def enqueue(kind: str, payload: dict[str, Any], delay: float = 0) -> Job:
    """Add a job to the session; it is queued when the caller commits."""
    job = Job(kind=kind, payload=payload, state="queued", run_after=utcnow() + _seconds(delay))
    db.session.add(job)
    return job


def _seconds(value: float) -> timedelta:
    """``value`` seconds."""
    return timedelta(seconds=value)


def worker_name() -> str:
    """This runner's name: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


class JobContext:
    """A claimed job as its handler sees it."""

    def __init__(self, job: Job, worker: str) -> None:
        self.id = job.id
        self.kind = job.kind
        self.payload = dict(job.payload or {})
        self.attempts = job.attempts
        self.worker = worker

    def heartbeat(self) -> None:
        """Renew the lease (commits); raise :class:`LeaseLost` if another runner took the job."""
        result = db.session.execute(
            update(Job)
            .where(Job.id == self.id, Job.worker == self.worker, Job.state == "running")
            .values(lease_until=_lease_end(), updated_at=utcnow())
        )
        db.session.commit()
        if result.rowcount != 1:
            raise LeaseLost(f"job {self.id} was claimed by another runner")


def _lease_end() -> datetime:
    """When a lease taken now ends."""
    return utcnow() + _seconds(current_app.config["JOB_LEASE_SECONDS"])


def _due(now: datetime) -> Any:
    """Jobs that may be claimed: queued and due, or running with a lapsed lease."""
    return or_(
        and_(Job.state == "queued", Job.run_after <= now),
        and_(Job.state == "running", Job.lease_until < now),
    )


def claim(worker: str, tries: int = 5) -> JobContext | None:
    """Claim the oldest due job for ``worker``, or return None when there is none."""
    for _ in range(tries):
        key = _oldest_due()
        if key is None:
            return None
        if _take(key, worker):
            job = db.session.get(Job, key, populate_existing=True)
            return JobContext(job, worker) if job is not None else None
    return None  # lost every race: other runners are busy with the queue


def _oldest_due() -> int | None:
    """The id of the oldest due job (locked on PostgreSQL, skipping locked rows)."""
    oldest = select(Job.id).where(_due(utcnow())).order_by(Job.run_after, Job.id).limit(1)
    if db.engine.dialect.name == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    key = db.session.scalar(oldest)
    if key is None:
        db.session.rollback()
    return key


def _take(key: int, worker: str) -> bool:
    """Mark job ``key`` as ``worker``'s if it is still due; return whether it was."""
    now = utcnow()
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == key, _due(now))
        .values(
            state="running",
            worker=worker,
            lease_until=_lease_end(),
            attempts=Job.attempts + 1,
            updated_at=now,
        )
    )
    db.session.commit()
    return claimed.rowcount == 1


def run_one(worker: str | None = None) -> bool:
    """Claim and run one due job; return whether there was one."""
    ctx = claim(worker or worker_name())
    if ctx is None:
        return False
    handler = _handlers.get(ctx.kind)
    if handler is None:
        _finish(ctx, "failed", f"no handler for job kind {ctx.kind!r}")
    elif ctx.attempts > MAX_ATTEMPTS:
        _give_up(ctx, handler, f"gave up after {MAX_ATTEMPTS} attempts")
    else:
        _run(ctx, handler)
    return True


def _run(ctx: JobContext, handler: Handler) -> None:
    """Run a handler and record how it ended."""
    try:
        with _lease_kept(ctx):
            handler.run(ctx)
    except Retry as retry:
        db.session.rollback()
        log.info("Job %s (%s) retries in %ss: %s", ctx.id, ctx.kind, retry.delay, retry)
        _requeue(ctx, retry.delay, str(retry))
    except Abandon as abandon:
        db.session.rollback()
        _finish(ctx, "failed", str(abandon))
    except LeaseLost:
        db.session.rollback()
        log.warning("Job %s: lease lost; another runner has it", ctx.id)
    except Exception as exc:
        db.session.rollback()
        log.exception("Job %s (%s) failed", ctx.id, ctx.kind)
        _give_up(ctx, handler, f"{type(exc).__name__}: {exc}")
    else:
        _end(ctx, handler, "done", None)


@contextmanager
def _lease_kept(ctx: JobContext) -> Iterator[None]:
    """Renew the job's lease from a helper thread while the handler works.

    The lease then outlives any single slow step (an embedding call with retries); only a
    dead process stops renewing it.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    done = threading.Event()
    thread = threading.Thread(target=_keep_lease, args=(app, ctx, done), daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _keep_lease(app: Flask, ctx: JobContext, done: threading.Event) -> None:
    """Extend the lease every third of its length until ``done``."""
    interval = max(0.5, app.config["JOB_LEASE_SECONDS"] / 3)
    while not done.wait(interval):
        try:
            with app.app_context(), db.engine.begin() as connection:
                connection.execute(
                    update(Job)
                    .where(Job.id == ctx.id, Job.worker == ctx.worker, Job.state == "running")
                    .values(lease_until=_lease_end())
                )
        except Exception:
            log.exception("Job %s: could not renew its lease", ctx.id)


def _give_up(ctx: JobContext, handler: Handler, reason: str) -> None:
    """Mark the job failed and let its feature record why (a periodic one runs again)."""
    if handler.give_up is not None:
        handler.give_up(ctx.payload, reason)
    _end(ctx, handler, "failed", reason)


def _end(ctx: JobContext, handler: Handler, state: str, error: str | None) -> None:
    """Record how a run ended; a periodic job is queued for its next run instead."""
    if handler.every is None:
        _finish(ctx, state, error)
        return
    other = select(Job.id).where(Job.kind == ctx.kind, Job.state == "queued", Job.id != ctx.id)
    if db.session.scalar(other.limit(1)) is not None:
        _finish(ctx, "done", error)  # another runner queued one too: that one carries on
    else:
        _requeue(ctx, handler.every(), error, attempts=0)  # attempts start over


def _requeue(ctx: JobContext, delay: float, error: str | None, **values: Any) -> None:
    """Put a job back in the queue, due in ``delay`` seconds."""
    db.session.execute(
        update(Job)
        .where(Job.id == ctx.id, Job.worker == ctx.worker)
        .values(
            state="queued",
            run_after=utcnow() + _seconds(delay),
            lease_until=None,
            error=error,
            updated_at=utcnow(),
            **values,
        )
    )
    db.session.commit()


def _finish(ctx: JobContext, state: str, error: str | None) -> None:
    """Record a job's end, unless another runner took it over meanwhile."""
    db.session.execute(
        update(Job)
        .where(Job.id == ctx.id, Job.worker == ctx.worker)
        .values(state=state, error=error, lease_until=None, updated_at=utcnow())
    )
    db.session.commit()


def run_pending(limit: int | None = None, worker: str | None = None) -> int:
    """Run due jobs until none is left (or ``limit`` ran); return how many ran."""
    count = 0
    while limit is None or count < limit:
        if not run_one(worker):
            break
        count += 1
    return count


def work(stop: threading.Event, poll: float = POLL_SECONDS) -> None:
    """Run due jobs until ``stop`` is set (the foreground worker), polling when idle."""
    worker = worker_name()
    schedule_periodic()
    while not stop.is_set():
        if not run_one(worker):
            db.session.remove()
            stop.wait(poll)


class Runner:
    """A daemon thread running due jobs for one app, polling the table every second."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="chatapp-jobs", daemon=True)
        self.pid = os.getpid()

    def start(self) -> Runner:
        """Start the thread."""
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop after the current job, and wait for it."""
        self.stopping.set()
        self.wakeup.set()
        self.thread.join(timeout)

    def wake(self) -> None:
        """Look for work now rather than at the next poll."""
        self.wakeup.set()

    def _loop(self) -> None:
        """Run due jobs until stopped; a failure is logged, never the end of the thread."""
        scheduled = False
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    if not scheduled:
                        schedule_periodic()
                        scheduled = True
                    run_pending(worker=worker_name())
                    db.session.remove()
            except Exception:
                log.exception("The job runner failed; it tries again shortly")
            self.wakeup.wait(POLL_SECONDS)
            self.wakeup.clear()


def wake() -> None:
    """Tell this process's runner (if any) that a job was just committed."""
    runner = current_app.extensions.get("jobs")
    if runner is not None:
        runner.wake()


def _start_in_process(app: Flask) -> None:
    """Start this process's runner once (after a fork, the child starts its own)."""
    runner = app.extensions.get("jobs")
    if runner is not None and runner.pid == os.getpid():
        return
    with _start_lock:
        runner = app.extensions.get("jobs")
        if runner is None or runner.pid != os.getpid():
            app.extensions["jobs"] = Runner(app).start()


def runs_in_app(app: Flask) -> bool:
    """Whether this app runs jobs in a thread: ``JOBS_IN_APP``, and in tests only when asked."""
    config = app.config
    return bool(config["JOBS_IN_APP"]) and (
        not app.testing or bool(config.get("JOBS_IN_APP_WHEN_TESTING"))
    )


def init_app(app: Flask) -> None:
    """Start the in-process runner lazily, with the first request a process serves."""
    if runs_in_app(app):
        app.before_request(lambda: _start_in_process(app))
