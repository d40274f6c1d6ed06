"""flask weekly-insights: the batch for a cron job."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import User, WeeklyInsight
from chatapp.services import accounts
from tests.support.app import PW_HASH
from tests.support.data import add_messages
from tests.support.gemini_wire import GeminiWireServer, Reply

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)

MONDAY = datetime.fromisoformat("2026-11-16T12:00:00+00:00")


def _insights(app: Flask) -> dict[str, str]:
    """Username → stored insight content."""
    with app.app_context():
        rows = db.session.execute(
            select(User.username, WeeklyInsight.content).join(
                WeeklyInsight, WeeklyInsight.user_id == User.id
            )
        )
        return dict(rows.all())


def test_all_users_skips_empty_and_reports_failures(
    app: Flask, runner, wire: GeminiWireServer
) -> None:
    """alice gets an insight, bob (no conversations) is skipped, carol's failure is reported."""
    with app.app_context():
        accounts.create_user("carol", "carol@example.com", "", password_hash=PW_HASH)
    add_messages(app, "alice", ("alice's week", MONDAY))
    add_messages(app, "carol", ("carol's week", MONDAY + timedelta(days=1)))
    add_messages(app, "bob", ("bob, another week", MONDAY - timedelta(days=7)))
    wire.script(Reply(text="Alice review"), Reply(status=503))
    result = runner.invoke(args=["weekly-insights", "--all", "--week", "2026-11-16"])
    assert result.exit_code == 1
    assert "Weekly insights" in result.output  # the progress bar's label
    assert "Generated 1, already there 0, skipped 1 (no conversations), failed 1." in result.output
    assert "Failed for carol: MODEL_UNAVAILABLE" in result.output
    assert _insights(app) == {"alice": "Alice review"}
    assert len(wire.requests) == 2  # bob cost no model call

    wire.script(Reply(text="Carol review"))
    again = runner.invoke(args=["weekly-insights", "--all", "--week", "2026-11-20"])
    assert again.exit_code == 0, again.output
    assert "Generated 1, already there 1, skipped 1" in again.output
    assert _insights(app) == {"alice": "Alice review", "carol": "Carol review"}


def test_one_user(app: Flask, runner, wire: GeminiWireServer) -> None:
    """--user generates just that user's insight."""
    add_messages(app, "alice", ("alice's week", MONDAY))
    add_messages(app, "bob", ("bob's week", MONDAY))
    result = runner.invoke(args=["weekly-insights", "--user", "bob", "--week", "2026-11-14"])
    assert result.exit_code == 0, result.output
    assert set(_insights(app)) == {"bob"}


def test_bad_arguments(runner) -> None:
    """Neither or both of --user/--all, an unknown user or a bad date fail clearly."""
    for args, message in (
        ([], "Give either --user NAME or --all"),
        (["--all", "--user", "alice"], "Give either --user NAME or --all"),
        (["--user", "nobody"], "No user named 'nobody'"),
        (["--all", "--week", "16/11/2026"], "Invalid value for '--week'"),
    ):
        result = runner.invoke(args=["weekly-insights", *args])
        assert result.exit_code != 0
        assert message in result.output, result.output


def test_help(runner) -> None:
    """The command explains itself."""
    result = runner.invoke(args=["weekly-insights", "--help"])
    assert result.exit_code == 0
    assert "--week" in result.output and "--all" in result.output
