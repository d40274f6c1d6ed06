"""Count what one chat turn asks of the database: statements by kind, and commits.

In-process (Flask test client) against the Gemini wire server, on a fresh SQLite file or
``--database-url``: a conversation of ``--turns`` turns, then the statements of its last
turn, streamed and not, are listed (docs/benchmarks.md, issue 15)::

    python -m bench.turn_statements [--database-url URL] [--show]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter

from tests.support.app import build_app, close_app, wire_config
from tests.support.clients import ApiUser, AuthActions
from tests.support.gemini_wire import GeminiWireServer
from tests.support.statements import Recorder

QUOTE = '"'


def kind(statement: str) -> str:
    """``SELECT chat_sessions`` / ``UPDATE chat_messages`` / ``INSERT ...``: verb and table."""
    words = statement.split()
    verb = words[0].upper()
    table = {"SELECT": "FROM", "UPDATE": verb, "INSERT": "INTO", "DELETE": "FROM"}.get(verb)
    if table and table in (w.upper() for w in words):
        index = [w.upper() for w in words].index(table)
        return f"{verb} {words[index + 1].strip(QUOTE)}"
    return verb


def main(argv: list[str] | None = None) -> int:
    """Run the conversation and print each measured turn's statements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--show", action="store_true", help="print every statement")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, GeminiWireServer(max_records=10) as server:
        url = args.database_url or f"sqlite:///{tmp}/statements.db"
        app = build_app(url, **wire_config(server, RATELIMIT_ENABLED=False))
        with app.app_context():
            from chatapp.extensions import db

            recorder = Recorder(db.engine)
        client = app.test_client()
        user = ApiUser(client, AuthActions(app, client).headers("alice"))
        session_id = user.send("first").json["sessionId"]
        for turn in range(args.turns):
            user.send(f"turn {turn}", session_id)
        body = {"message": "measured", "sessionId": session_id}
        measured = {
            "POST /api/v1/chat/message": lambda: user.send("measured", session_id),
            "POST /api/v1/chat/message/stream": lambda: client.post(
                "/api/v1/chat/message/stream", json=body, headers=user.headers
            ).get_data(),
        }
        for name, action in measured.items():
            statements, commits = recorder.measure(action)
            kinds = Counter(kind(s) for s in statements)
            print(f"{name}: {len(statements)} statements, {commits} commits")
            for label, count in sorted(kinds.items()):
                print(f"  {count} x {label}")
            if args.show:
                print("\n".join(f"    {s[:160]}" for s in statements))
        close_app(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
