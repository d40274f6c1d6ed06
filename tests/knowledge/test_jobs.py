"""The job runner itself: claims, leases, retries and failures, with throwaway handlers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from chatapp.extensions import db
from chatapp.models import Job, utcnow
from chatapp.services import jobs

calls: list[dict] = []


@pytest.fixture(autouse=True)
def handlers() -> Iterator[None]:
    """Test kinds of job, removed again afterwards."""
    calls.clear()
    jobs.register("test.ok", lambda ctx: calls.append(ctx.payload))
    jobs.register("test.retry", _retry_once)
    jobs.register("test.crash", _crash, lambda payload, reason: calls.append({"gave_up": reason}))
    yield
    for kind in ("test.ok", "test.retry", "test.crash", "test.slow"):
        jobs._handlers.pop(kind, None)


def _retry_once(ctx: jobs.JobContext) -> None:
    if ctx.attempts == 1:
        raise jobs.Retry(30, "busy")
    calls.append({"attempt": ctx.attempts})


def _crash(ctx: jobs.JobContext) -> None:
    raise RuntimeError("boom")


def queue(app: Flask, kind: str, **payload: object) -> int:
    """Queue one job; return its id."""
    with app.app_context():
        job = jobs.enqueue(kind, payload)
        db.session.commit()
        return job.id


def job_row(app: Flask, key: int) -> Job:
    """A job as stored."""
    with app.app_context():
        job = db.session.get(Job, key)
        db.session.expunge(job)
        return job


def test_jobs_run_once_and_finish(app):
    """A due job runs once and ends done; nothing is left to run."""
    key = queue(app, "test.ok", n=1)
    with app.app_context():
        assert jobs.run_pending() == 1
        assert jobs.run_pending() == 0
    assert calls == [{"n": 1}]
    job = job_row(app, key)
    assert (job.state, job.attempts, job.lease_until) == ("done", 1, None)


def test_retry_requeues_with_back_off(app):
    """A handler's Retry puts the job back, due later, and it runs again when due."""
    key = queue(app, "test.retry")
    with app.app_context():
        assert jobs.run_pending() == 1
    job = job_row(app, key)
    assert job.state == "queued" and job.run_after > utcnow() + timedelta(seconds=20)
    with app.app_context():
        assert jobs.run_pending() == 0
        db.session.execute(update(Job).values(run_after=utcnow()))
        db.session.commit()
        assert jobs.run_pending() == 1
    assert calls == [{"attempt": 2}] and job_row(app, key).state == "done"


def test_crash_fails_the_job_and_gives_up(app):
    """An exception fails the job with its reason and calls the kind's give_up."""
    key = queue(app, "test.crash")
    with app.app_context():
        jobs.run_pending()
    job = job_row(app, key)
    assert job.state == "failed" and "boom" in job.error
    assert calls == [{"gave_up": "RuntimeError: boom"}]


def test_unknown_kind_fails(app):
    """A job nobody handles fails rather than blocking the queue."""
    key = queue(app, "test.nobody")
    with app.app_context():
        jobs.run_pending()
    assert job_row(app, key).state == "failed"


def test_a_job_is_claimed_by_one_runner_only(app):
    """Two runners racing for one job: one gets it, the other nothing, until the lease lapses."""
    queue(app, "test.ok")
    with app.app_context():
        first = jobs.claim("runner-1")
        second = jobs.claim("runner-2")
        assert first is not None and second is None
        db.session.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        again = jobs.claim("runner-2")
        assert again is not None and again.id == first.id and again.attempts == 2
        with pytest.raises(jobs.LeaseLost):
            first.heartbeat()  # the first runner learns it lost the job


def test_concurrent_claims_split_the_queue(app):
    """Runners claiming at the same time get different jobs (SKIP LOCKED / guarded update)."""
    keys = {queue(app, "test.ok", n=n) for n in range(6)}
    claimed: list[int] = []
    lock = threading.Lock()

    def claim_all(name: str) -> None:
        with app.app_context():
            while (ctx := jobs.claim(name)) is not None:
                with lock:
                    claimed.append(ctx.id)
            db.session.remove()

    threads = [threading.Thread(target=claim_all, args=(f"r{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(keys)


def test_lease_is_renewed_while_the_handler_works(app):
    """A long handler keeps its lease: the lease end moves forward while it runs."""
    app.config["JOB_LEASE_SECONDS"] = 1.5  # renewed every half second
    renewed = threading.Event()

    def slow(ctx: jobs.JobContext) -> None:
        first = db.session.scalar(select(Job.lease_until).where(Job.id == ctx.id))
        db.session.rollback()
        for _ in range(100):
            if renewed.wait(0.1):
                break
            db.session.rollback()
            now = db.session.scalar(select(Job.lease_until).where(Job.id == ctx.id))
            if now > first:
                renewed.set()

    jobs.register("test.slow", slow)
    key = queue(app, "test.slow")
    with app.app_context():
        jobs.run_pending()
    assert renewed.is_set()
    assert job_row(app, key).state == "done"


def test_foreground_worker_runs_jobs_until_stopped(app):
    """`flask worker`'s loop runs queued jobs as they come, and ends when told to."""
    stop = threading.Event()

    def work() -> None:
        with app.app_context():
            jobs.work(stop, poll=0.05)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        key = queue(app, "test.ok", n=7)
        for _ in range(200):
            if job_row(app, key).state == "done":
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert job_row(app, key).state == "done" and calls == [{"n": 7}]


def test_in_app_runner_starts_only_when_configured(app):
    """Tests get no runner thread unless they ask; asking starts one with the first request."""
    assert not jobs.runs_in_app(app)
    app.test_client().get("/api/health")
    assert "jobs" not in app.extensions
    app.config["JOBS_IN_APP_WHEN_TESTING"] = True
    assert jobs.runs_in_app(app)
    app.config["JOBS_IN_APP"] = False
    assert not jobs.runs_in_app(app)
