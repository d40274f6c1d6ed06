"""The chat-turn benchmark runs from one command and reports every phase with a verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.chat_turns import Run, message, summary

ROOT = Path(__file__).resolve().parent.parent


def test_summary_compares_early_and_late_turns() -> None:
    """Rates come from the wall time; early and late turns are the first and last ten."""
    run = Run("x", [[0.01] * 10 + [0.02] * 10, [0.01] * 10 + [0.04] * 10], wall=2.0)
    result = summary(run)

    assert result["turns_per_s"] == 20
    assert round(result["early_ms"], 6) == 10
    assert round(result["late_ms"], 6) == 30
    assert round(result["late_over_early"], 6) == 3


def test_messages_are_distinct_and_sized() -> None:
    """Every client and turn sends its own message of the requested size."""
    assert len(message(3, 7, 120)) == 120
    assert message(0, 1, 120) != message(1, 0, 120)


def test_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """A tiny run serves the minimal app and chatapp, and reports targets 1 and 2."""
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "bench.chat_turns", "--clients", "2", "--turns", "3"]
    done = subprocess.run(
        [*command, "--flat-turns", "4", "--workers", "1", "--threads", "2", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert "target 1, 3-turn conversations" in done.stdout
    assert "target 2, SQLite" in done.stdout
    results = json.loads(out.read_text())["results"]
    for phase in ("minimal app", "chatapp", "chatapp stream"):
        assert results["rate_3"][phase]["turns_per_s"] > 0
    assert results["flat_SQLite"]["late_over_early"] > 0
