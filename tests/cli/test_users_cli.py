"""`threaddesk users add|list|revoke` end to end on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from threaddesk.cli import app
from threaddesk.storage import open_storage
from threaddesk.users import UserManager

runner = CliRunner()


def _authenticate(db: Path, token: str) -> str | None:
    async def run() -> str | None:
        storage = await open_storage(str(db))
        try:
            user = await UserManager(storage.users).authenticate(token)
            return user and f"{user.name}:{'admin' if user.is_admin else 'user'}"
        finally:
            await storage.aclose()

    return asyncio.run(run())


def test_add_prints_a_working_token_once_and_list_never_shows_it(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    added = runner.invoke(app, ["--db", str(db), "users", "add", "carol", "--admin"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert _authenticate(db, token) == "carol:admin"

    listed = runner.invoke(app, ["--db", str(db), "users", "list"])
    assert listed.exit_code == 0
    header, row = listed.stdout.splitlines()
    assert header.split() == ["name", "role", "created"]
    assert row.split()[:2] == ["carol", "admin"] and token not in listed.stdout
    as_json = json.loads(runner.invoke(app, ["--db", str(db), "users", "list", "--json"]).stdout)
    assert [(u["name"], u["is_admin"]) for u in as_json] == [("carol", True)]


def test_duplicate_bad_and_unknown_names_fail_cleanly(tmp_path: Path) -> None:
    db = str(tmp_path / "desk.sqlite")
    assert runner.invoke(app, ["--db", db, "users", "add", "dave"]).exit_code == 0
    duplicate = runner.invoke(app, ["--db", db, "users", "add", "dave"])
    assert duplicate.exit_code == 6 and "already exists" in duplicate.stderr
    bad = runner.invoke(app, ["--db", db, "users", "add", "no spaces"])
    assert bad.exit_code == 2 and "invalid user id" in bad.stderr
    unknown = runner.invoke(app, ["--db", db, "users", "revoke", "erin"])
    assert unknown.exit_code == 3 and "not found" in unknown.stderr


def test_revoke_invalidates_the_token(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    token = runner.invoke(app, ["--db", str(db), "users", "add", "frank"]).stdout.strip().splitlines()[-1]
    revoked = runner.invoke(app, ["--db", str(db), "users", "revoke", "frank"])
    assert revoked.exit_code == 0
    assert _authenticate(db, token) is None
    assert runner.invoke(app, ["--db", str(db), "users", "list"]).stdout == "No users.\n"
    assert runner.invoke(app, ["--db", str(db), "users", "list", "--json"]).stdout == "[]\n"
