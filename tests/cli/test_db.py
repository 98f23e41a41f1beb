"""`threaddesk db upgrade` on SQLite and PostgreSQL, and `serve --workers` refusing SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.postgres import postgres_schema
from typer.testing import CliRunner

from threaddesk.cli import app
from threaddesk.cli.errors import ExitCode
from threaddesk.storage.sqlite.migrations import MIGRATIONS

runner = CliRunner()
NAMES = [name for name, _ in MIGRATIONS]


def _upgrade_twice(url: str) -> None:
    first = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [f"applied {name}" for name in NAMES] + [
        "database schema is up to date"
    ]
    again = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert again.exit_code == 0 and again.stdout == "database schema is up to date\n"


def test_db_upgrade_on_sqlite(tmp_path: Path) -> None:
    _upgrade_twice(str(tmp_path / "new.sqlite"))


def test_db_upgrade_on_postgres() -> None:
    with postgres_schema() as url:
        _upgrade_twice(url)


def test_db_upgrade_reports_an_unreachable_postgres() -> None:
    result = runner.invoke(app, ["--db", "postgresql://nobody@127.0.0.1:1/none", "db", "upgrade"])
    assert result.exit_code == ExitCode.STORAGE_UNAVAILABLE
    assert "cannot connect to PostgreSQL" in result.stderr


@pytest.mark.parametrize("db", ["memory", "desk.sqlite"])
def test_serve_refuses_several_workers_without_postgres(tmp_path: Path, db: str) -> None:
    url = db if db == "memory" else str(tmp_path / db)
    result = runner.invoke(app, ["--db", url, "serve", "--workers", "2"])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "--workers 2 needs PostgreSQL" in result.stderr
