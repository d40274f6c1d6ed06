"""Operator commands, run as ``flask --app chatapp <command>``."""

from __future__ import annotations

from datetime import datetime

import click
import flask_migrate
from flask import Flask
from flask.cli import with_appcontext

from chatapp.errors import ApiError
from chatapp.services import accounts, seed
from chatapp.services.insights import batch


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


def init_app(app: Flask) -> None:
    """Register the commands."""
    commands = (
        init_db_command,
        create_user_command,
        create_token_command,
        seed_command,
        weekly_insights_command,
    )
    for command in commands:
        app.cli.add_command(command)
