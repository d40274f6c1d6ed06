"""Count the SQL statements and commits an engine runs (what a turn asks of the database)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event


class Recorder:
    """Every statement and commit an engine sees while ``on`` is set."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.statements: list[str] = []
        self.commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """Record one statement, whitespace collapsed."""
        if self.on:
            self.statements.append(" ".join(statement.split()))

    def _commit(self, conn: Any) -> None:
        """Count one commit."""
        if self.on:
            self.commits += 1

    def measure(self, action: Callable[[], Any]) -> tuple[list[str], int]:
        """The statements and commits of ``action()``."""
        self.statements, self.commits, self.on = [], 0, True
        try:
            action()
        finally:
            self.on = False
        return self.statements, self.commits
