"""Users as a table in PostgreSQL, shared by every replica."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from threaddesk.storage.postgres.database import PostgresDatabase
from threaddesk.users.interfaces import UserStore
from threaddesk.users.models import User

_COLUMNS = "name, is_admin, created_at, role"


def _user(row: dict[str, Any]) -> User:
    return User(
        name=row["name"],
        is_admin=row["is_admin"],
        created_at=row["created_at"].astimezone(UTC),
        role=row["role"],
    )


class PostgresUserStore(UserStore):
    """Schema comes from `threaddesk.storage.postgres.migrations.MIGRATIONS` (run when the database opens)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def _fetch(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            return await (await conn.execute(sql, params)).fetchall()

    async def insert(self, user: User, token_hash: str) -> bool:
        rows = await self._fetch(
            "INSERT INTO threaddesk_users (name, token_hash, is_admin, created_at, role)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING name",
            (user.name, token_hash, user.is_admin, user.created_at, str(user.role)),
        )
        return bool(rows)

    async def get(self, name: str) -> User | None:
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM threaddesk_users WHERE name = %s", (name,))
        return _user(rows[0]) if rows else None

    async def find_by_token_hash(self, token_hash: str) -> tuple[User, str] | None:
        rows = await self._fetch(
            f"SELECT {_COLUMNS}, token_hash FROM threaddesk_users WHERE token_hash = %s", (token_hash,)
        )
        return (_user(rows[0]), rows[0]["token_hash"]) if rows else None

    async def list(self) -> list[User]:
        return [
            _user(row)
            for row in await self._fetch(f'SELECT {_COLUMNS} FROM threaddesk_users ORDER BY name COLLATE "C"')
        ]

    async def delete(self, name: str) -> bool:
        rows = await self._fetch("DELETE FROM threaddesk_users WHERE name = %s RETURNING name", (name,))
        return bool(rows)

    async def count(self) -> int:
        return (await self._fetch("SELECT count(*) AS n FROM threaddesk_users"))[0]["n"]
