"""`threaddesk assistants ...` end to end on a SQLite file: the operator's side of assistants, and a
chat on a thread made with one uses its settings."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from threaddesk.cli import app

runner = CliRunner()


def _td(db: Path, *args: str):
    return runner.invoke(app, ["--db", str(db), "assistants", *args])


def test_create_update_versions_latest_delete(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    made = _td(db, "create", "billing", "--prompt", "You do billing.", "--context-messages", "5", "--json")
    assert made.exit_code == 0, made.output
    billing = json.loads(made.stdout)
    assert billing["context"] == {"system_prompt": "You do billing.", "context_messages": 5}
    listed = json.loads(_td(db, "list", "--json").stdout)
    assert [a["name"] for a in listed] == ["billing", "support_agent"]

    changed = json.loads(_td(db, "update", billing["assistant_id"], "--model", "offline", "--json").stdout)
    assert changed["version"] == 2  # the settings given replace those ones, the others stay
    assert changed["context"] == {
        "system_prompt": "You do billing.",
        "context_messages": 5,
        "model": "offline",
    }
    versions = json.loads(_td(db, "versions", billing["assistant_id"], "--json").stdout)
    assert [v["version"] for v in versions] == [2, 1]
    back = json.loads(_td(db, "latest", billing["assistant_id"], "1", "--json").stdout)
    assert back["version"] == 1 and "model" not in back["context"]

    assert _td(db, "delete", billing["assistant_id"]).exit_code == 0
    missing = _td(db, "show", billing["assistant_id"])
    assert missing.exit_code == 3 and "not found" in missing.output


def test_refusals_exit_with_their_codes(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    bad_model = _td(db, "create", "x", "--model", "gpt-4o")
    assert bad_model.exit_code == 2 and "provider:model" in bad_model.output
    assert _td(db, "create", "x", "--metadata", "[1]").exit_code == 2
    system = _td(db, "delete", "support_agent")
    assert system.exit_code == 6 and "cannot be changed" in system.output
    assert json.loads(_td(db, "list", "--json").stdout)[0]["name"] == "support_agent"
