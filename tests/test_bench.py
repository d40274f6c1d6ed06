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


def run_bench(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m bench.<module> args...`` from the repository root; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """A tiny run serves the minimal app and chatapp, and reports targets 1 and 2."""
    out = tmp_path / "bench.json"
    args = ["--clients", "2", "--turns", "3", "--flat-turns", "4", "--workers", "1"]
    done = run_bench("chat_turns", *args, "--threads", "2", "--json", str(out), timeout=300)

    assert "target 1, 3-turn conversations" in done.stdout
    assert "target 2, SQLite" in done.stdout
    results = json.loads(out.read_text())["results"]
    for phase in ("minimal app", "chatapp", "chatapp stream"):
        assert results["rate_3"][phase]["turns_per_s"] > 0
    assert results["flat_SQLite"]["late_over_early"] > 0


def test_message_search_benchmark_runs(tmp_path: Path) -> None:
    """A tiny run (SQLite only) searches every kind of query and reports the baseline."""
    out = tmp_path / "search.json"
    args = ["--messages", "2000", "--mine", "500", "--queries", "3", "--json", str(out)]
    run_bench("message_search", *args, timeout=300)

    sqlite = json.loads(out.read_text())["sqlite"]
    kinds = {"rare", "mid", "common", "two words", "phrase", "prefix", "all"}
    assert kinds <= set(sqlite)
    assert sqlite["all"]["n"] == 18
    assert sqlite["title filter (baseline)"]["p50_ms"] > 0


def test_summaries_benchmark_runs() -> None:
    """A tiny run compares a path that fits with dropping and summaries past the budget."""
    args = ["--turns", "8", "--measured", "6", "--rounds", "1", "--budget-exchanges", "3"]
    done = run_bench("summaries", *args)

    lines = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert set(lines) == {"fits", "dropping", "summaries"}
    assert lines["fits"][3:] == ["8.00", "2.00", "0"]
    assert lines["dropping"][-1] == "0"
    assert int(lines["summaries"][-1]) > 0


def test_branches_benchmark_runs() -> None:
    """A tiny run (SQLite only) builds both conversations and compares turns and reads."""
    done = run_bench("branches", "--path-turns", "4", "--branches", "4", "--turns", "3")

    assert done.stdout.count("branched/linear median") == 4  # turns, reads; wall, CPU
    assert "target" in done.stdout.splitlines()[-1]
