"""Profile chat turns in-process with pyinstrument (``pip install -e '.[bench]'``).

Runs one conversation through the Flask test client against the Gemini wire server (real
google-genai SDK) and profiles its last ``--profiled`` turns::

    python bench/profile_turns.py --turns 200 --profiled 20 [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyinstrument import Profiler  # noqa: E402

from tests.support.app import build_app, close_app, wire_config  # noqa: E402
from tests.support.clients import ApiUser, AuthActions  # noqa: E402
from tests.support.gemini_wire import GeminiWireServer  # noqa: E402


def main() -> int:
    """Run the conversation and print the profile of its last turns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--profiled", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, GeminiWireServer(max_records=10) as server:
        url = args.database_url or f"sqlite:///{tmp}/profile.db"
        app = build_app(url, **wire_config(server, GEMINI_TIMEOUT=60, RATELIMIT_ENABLED=False))
        client = app.test_client()
        user = ApiUser(client, AuthActions(app, client).headers("alice"))
        session_id, profiler = None, Profiler(interval=0.0005)
        for turn in range(args.turns):
            if turn == args.turns - args.profiled:
                profiler.start()
            started = time.perf_counter()
            session_id = user.send(f"turn {turn}: " + "tell me more. " * 8, session_id).json[
                "sessionId"
            ]
            print(f"turn {turn + 1}: {(time.perf_counter() - started) * 1000:.1f} ms")
        profiler.stop()
        close_app(app)
    print(profiler.output_text(unicode=False, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
