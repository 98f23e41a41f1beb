"""Users as a table in the same SQLite file as the threads and checkpoints."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.users.interfaces import UserStore
from threaddesk.users.models import User

_COLUMNS = "name, is_admin, created_at, role"


def _user(row: tuple) -> User:
    name, is_admin, created_at, role = row
    return User(
        name=name, is_admin=bool(is_admin), created_at=datetime.fromtimestamp(created_at, UTC), role=role
    )


class SqliteUserStore(UserStore):
    """Schema comes from `threaddesk.storage.sqlite.migrations.MIGRATIONS` (run when the database opens)."""

    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def insert(self, user: User, token_hash: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO threaddesk_users (name, token_hash, is_admin, created_at, role)"
                " VALUES (?, ?, ?, ?, ?)",
                (user.name, token_hash, int(user.is_admin), user.created_at.timestamp(), str(user.role)),
            )
            return cur.rowcount == 1

        return await self.db.run(run)

    async def get(self, name: str) -> User | None:
        def run(conn: sqlite3.Connection) -> User | None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM threaddesk_users WHERE name = ?", (name,)).fetchone()
            return _user(row) if row else None

        return await self.db.run(run)

    async def find_by_token_hash(self, token_hash: str) -> tuple[User, str] | None:
        def run(conn: sqlite3.Connection) -> tuple[User, str] | None:
            row = conn.execute(
                f"SELECT {_COLUMNS}, token_hash FROM threaddesk_users WHERE token_hash = ?", (token_hash,)
            ).fetchone()
            return (_user(row[:4]), row[4]) if row else None

        return await self.db.run_inline(run)  # every authenticated request: one indexed row

    async def list(self) -> list[User]:
        def run(conn: sqlite3.Connection) -> list[User]:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM threaddesk_users ORDER BY name").fetchall()
            return [_user(row) for row in rows]

        return await self.db.run(run)

    async def delete(self, name: str) -> bool:
        return await self.db.run(
            lambda conn: conn.execute("DELETE FROM threaddesk_users WHERE name = ?", (name,)).rowcount == 1
        )

    async def count(self) -> int:
        return await self.db.run(
            lambda conn: conn.execute("SELECT COUNT(*) FROM threaddesk_users").fetchone()[0]
        )
