"""A 100 MB export is imported in bounded memory (peak RSS growth measured in a child)."""

from __future__ import annotations

from pathlib import Path

from bench.import_memory import child, write_export

MB = 1024 * 1024


def test_a_100_mb_file_is_imported_in_bounded_memory(database_url: str, tmp_path: Path) -> None:
    """The import's peak memory grows by less than 100 MB for a 100 MB file, where reading
    the file whole (json.load, the baseline) grows by more than that; everything arrives."""
    path = tmp_path / "export.json"
    conversations = write_export(path, 100)

    baseline = child("json_load", path)
    streamed = child("import", path, database_url)

    assert baseline["growth"] > 100 * MB  # the bound would catch a non-streaming import
    assert streamed["growth"] < 100 * MB
    assert (streamed["imported"], streamed["failed"]) == (conversations, 0)
