"""Operator commands, run as ``flask --app chatapp <command>``."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from datetime import datetime
from typing import TextIO

import click
import flask_migrate
from flask import Flask
from flask.cli import with_appcontext

from chatapp.errors import ApiError
from chatapp.gemini import get_model
from chatapp.models import User
from chatapp.services import accounts, jobs, seed, transfer
from chatapp.services.insights import batch
from chatapp.services.knowledge import collections, ingest


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database to the latest schema (safe to run twice)."""
    flask_migrate.upgrade()
    click.echo("Database is at the latest schema.")


@click.command("create-user")
@click.argument("username")
@click.option("--email", required=True, help="The account's email address.")
@click.password_option(help="The password (prompted for when omitted).")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@with_appcontext
def create_user_command(username: str, email: str, password: str, admin: bool) -> None:
    """Create an account and print its id."""
    try:
        user = accounts.create_user(username, email, password, is_admin=admin)
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(user.id)


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@with_appcontext
def create_token_command(username: str, name: str) -> None:
    """Create an API token for USERNAME; the token is the last line printed."""
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"No user named {username!r}.")
    token, secret = accounts.create_token(user, name)
    click.echo(f"Token {token.name!r} (id {token.id}) for {user.username}; it is shown once:")
    click.echo(secret)


@click.command("seed")
@click.option("--users", default=3, show_default=True, help="Demo users (demo1, demo2, ...).")
@click.option("--sessions", default=3, show_default=True, help="Conversations per user.")
@click.option("--messages", default=6, show_default=True, help="Messages per conversation.")
@with_appcontext
def seed_command(users: int, sessions: int, messages: int) -> None:
    """Create demo users with conversations; running it twice adds nothing."""
    steps = seed.create_demo_data(users, sessions, messages)
    with click.progressbar(steps, length=users, label="Seeding demo users") as bar:
        for _ in bar:
            pass
    click.echo(f"Demo users demo1..demo{users}, password {seed.DEMO_PASSWORD!r}.")


@click.command("weekly-insights")
@click.option(
    "--week",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Any day of the week to review (default: each user's current week).",
)
@click.option("--user", "username", help="Only this user (username or email).")
@click.option("--all", "all_users", is_flag=True, help="Every user.")
@with_appcontext
def weekly_insights_command(week: datetime | None, username: str | None, all_users: bool) -> None:
    """Generate missing weekly insights, e.g. from cron; exits 1 if any user failed.

    Users with no conversations that week are skipped; existing insights are kept.
    """
    if (username is None) == (not all_users):
        raise click.UsageError("Give either --user NAME or --all.")
    try:
        ids = batch.user_ids(username)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    report = batch.Report()
    with click.progressbar(ids, label="Weekly insights") as bar:
        for user_id in bar:
            batch.run_one(user_id, week.date() if week else None, report)
    click.echo(report.summary())
    for name, reason in report.failed:
        click.echo(f"Failed for {name}: {reason}", err=True)
    if report.failed:
        raise click.exceptions.Exit(1)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--collection", "name", required=True, help="Collection name (created if missing).")
@click.option("--shared", is_flag=True, help="A shared collection, readable by every user.")
@click.option("--user", "username", help="A private collection of this user.")
@click.option("--no-wait", is_flag=True, help="Only queue the indexing (a worker does it).")
@with_appcontext
def ingest_command(
    paths: tuple[str, ...], name: str, shared: bool, username: str | None, no_wait: bool
) -> None:
    """Add files and directories (text, Markdown, HTML, PDF) to a collection and index them.

    Unchanged files are skipped; changed ones are re-indexed. Exits 1 if any file failed.
    """
    owner = _owner(shared, username)
    collection = collections.find_or_create(name, owner)
    files = ingest.walk(paths)
    report = ingest.Report()
    steps = ingest.ingest_files(collection, files, owner, report)
    with click.progressbar(steps, length=len(files), label=f"Ingesting into {name}") as bar:
        for _ in bar:
            pass
    if not no_wait:
        _index_now(report.queued)
        report.failed.extend(ingest.failures(report.queued))
    click.echo(report.summary())
    for path, reason in report.failed:
        click.echo(f"Failed: {path}: {reason}", err=True)
    if report.failed:
        raise click.exceptions.Exit(1)


def _owner(shared: bool, username: str | None) -> User | None:
    """The owner named by ``--user`` (None for ``--shared``); exactly one must be given."""
    if shared == (username is not None):
        raise click.UsageError("Give either --shared or --user NAME.")
    return None if username is None else _user(username)


def _index_now(document_ids: list[str]) -> None:
    """Run the queued indexing jobs in this process, with a progress bar."""
    if not document_ids:
        return
    with click.progressbar(length=len(document_ids), label="Indexing") as bar:
        while jobs.run_one():
            bar.update(1)


@click.command("reindex")
@click.option("--no-wait", is_flag=True, help="Only queue the work (a worker does it).")
@with_appcontext
def reindex_command(no_wait: bool) -> None:
    """Re-embed documents lacking vectors of GEMINI_EMBEDDING_MODEL/GEMINI_EMBEDDING_DIM.

    Run it after setting an API key or changing the embedding model; failed documents are
    retried too. Exits 1 if any document failed.
    """
    if not get_model().can_embed:
        raise click.ClickException("No GEMINI_API_KEY: documents stay full-text only.")
    queued = ingest.queue_reindex(ingest.stale_documents())
    if not no_wait:
        _index_now(queued)
    failed = ingest.failures(queued)
    click.echo(f"{len(queued)} documents re-indexed, {len(failed)} failed.")
    for title, reason in failed:
        click.echo(f"Failed: {title}: {reason}", err=True)
    if failed:
        raise click.exceptions.Exit(1)


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Run background jobs (document indexing, ...) in the foreground until interrupted."""
    if once:
        click.echo(f"Ran {jobs.run_pending()} jobs.")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo("Running background jobs; Ctrl-C to stop.")
    with contextlib.suppress(KeyboardInterrupt):
        jobs.work(stop)
    click.echo("Worker stopped.")


def _user(username: str) -> User:
    """The account named ``username`` (or with that email), or a usage error."""
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"No user named {username!r}.")
    return user


@click.command("export")
@click.option("--user", "username", required=True, help="Whose conversations (name or email).")
@click.option(
    "--out", type=click.File("w", encoding="utf-8"), default="-", help="File (default: stdout)."
)
@with_appcontext
def export_command(username: str, out: TextIO) -> None:
    """Write all of a user's conversations as a chatapp export file (JSON)."""
    stream = transfer.export_all(_user(username))
    chunks = stream.chunks()
    out.write(next(chunks))
    with click.progressbar(length=stream.count, label="Exporting", file=sys.stderr) as bar:
        for chunk in chunks:
            out.write(chunk)
            bar.update(1)
    click.echo(f"Exported {stream.count} conversations.", err=True)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="Whose account receives them.")
@with_appcontext
def import_command(path: str, username: str) -> None:
    """Import a chatapp export or ChatGPT's conversations.json for a user.

    Conversations imported before are skipped. Exits 1 if any conversation failed.
    """
    user = _user(username)
    with open(path, "rb") as file:
        try:
            plan = transfer.inspect(file)
        except ApiError as exc:
            raise click.ClickException(exc.message) from exc
        report = transfer.Report(plan.source)
        steps = transfer.run(user, file, plan, report)
        with click.progressbar(steps, length=plan.count, label="Importing") as bar:
            for _ in bar:
                pass
    click.echo(f"{report.imported} imported, {report.skipped} skipped, {report.failed} failed.")
    for problem in report.problems:
        click.echo(f"#{problem.index} {problem.title!r}: {problem.reason}", err=True)
    if report.failed:
        raise click.exceptions.Exit(1)


def init_app(app: Flask) -> None:
    """Register the commands."""
    commands = (
        init_db_command,
        create_user_command,
        create_token_command,
        seed_command,
        weekly_insights_command,
        ingest_command,
        reindex_command,
        worker_command,
        export_command,
        import_command,
    )
    for command in commands:
        app.cli.add_command(command)
