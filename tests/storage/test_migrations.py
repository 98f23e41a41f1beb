"""The two backends' migrations: one list of names, one schema, kept aligned by a test (not a comment)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from support.postgres import postgres_schema

from threaddesk.storage import open_storage
from threaddesk.storage.sqlite.migrations import MIGRATIONS as SQLITE_MIGRATIONS

pytest.importorskip("psycopg", reason="PostgreSQL support not installed: pip install -e '.[postgres]'")

from threaddesk.storage.postgres.migrations import MIGRATIONS as POSTGRES_MIGRATIONS  # noqa: E402

OURS = (
    "threaddesk_threads",
    "threaddesk_users",
    "threaddesk_messages",
    "threaddesk_orders",
    "threaddesk_tickets",
    "threaddesk_assistants",
    "threaddesk_assistant_versions",
)


def test_both_backends_list_the_same_migrations_in_the_same_order() -> None:
    names = [name for name, _ in SQLITE_MIGRATIONS]
    assert names == [name for name, _ in POSTGRES_MIGRATIONS]
    assert names == sorted(names) and len(set(names)) == len(names)


async def test_both_backends_create_the_same_tables_and_columns(tmp_path: Path) -> None:
    import psycopg

    db = tmp_path / "m.sqlite"
    await (await open_storage(str(db))).aclose()
    with sqlite3.connect(db) as conn:
        sqlite_columns = {
            table: [row[1] for row in conn.execute(f"PRAGMA table_info({table})")] for table in OURS
        }
    with postgres_schema() as url:
        await (await open_storage(url, pool_size=1, turn_pool_size=1)).aclose()
        with psycopg.connect(url) as conn:
            postgres_columns = {
                table: [
                    row[0]
                    for row in conn.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                        " current_schema() AND table_name = %s ORDER BY ordinal_position",
                        (table,),
                    )
                ]
                for table in OURS
            }
    assert all(sqlite_columns.values())
    assert sqlite_columns == postgres_columns
