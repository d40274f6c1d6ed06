"""``flask export`` and ``flask import``: the operator's way in and out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.data import count_stored
from tests.transfer.conftest import store_conversation
from tests.transfer.test_chatgpt import FIXTURE

pytestmark = pytest.mark.app_config(OFFLINE_MODEL_DELAY=0)


def test_export_then_import_for_another_user(app: Flask, runner: Any, tmp_path: Path) -> None:
    """A user's export written to a file imports into another account, once."""
    store_conversation(app, "alice", "Beans")
    out = tmp_path / "alice.json"

    exported = runner.invoke(args=["export", "--user", "alice", "--out", str(out)])
    imported = runner.invoke(args=["import", str(out), "--user", "bob"])
    again = runner.invoke(args=["import", str(out), "--user", "bob"])

    assert exported.exit_code == 0, exported.output
    assert "Exported 1 conversations." in exported.output
    assert json.loads(out.read_text())["conversations"][0]["title"] == "Beans"
    assert imported.exit_code == 0, imported.output
    assert "1 imported, 0 skipped, 0 failed." in imported.output
    assert "0 imported, 1 skipped, 0 failed." in again.output
    assert count_stored(app)[0] == 2


def test_import_of_chatgpt_and_of_a_broken_file(app: Flask, runner: Any, tmp_path: Path) -> None:
    """ChatGPT's file imports; a broken one is refused with the reason, importing nothing."""
    done = runner.invoke(args=["import", str(FIXTURE), "--user", "alice"])
    assert done.exit_code == 0, done.output
    assert "2 imported" in done.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "chatapp.export", "version": 1, "conversations": [')
    refused = runner.invoke(args=["import", str(broken), "--user", "alice"])
    assert refused.exit_code == 1
    assert "not valid JSON" in refused.output
    assert count_stored(app)[0] == 2
    unknown = runner.invoke(args=["export", "--user", "nobody"])
    assert unknown.exit_code == 1 and "No user named 'nobody'" in unknown.output
