"""Assistants and their versions as tables in PostgreSQL (schema: `migrations._M008_ASSISTANTS`)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from threaddesk.assistants.interfaces import AssistantStore
from threaddesk.assistants.models import Assistant, AssistantVersion
from threaddesk.storage.postgres.database import PostgresDatabase

_FIELDS = "graph_id, name, description, config, context, metadata"
_COLUMNS = f"assistant_id, {_FIELDS}, version, created_at, updated_at"
_VERSION_COLUMNS = f"assistant_id, version, {_FIELDS}, created_at"


def _assistant(row: dict[str, Any]) -> Assistant:
    return Assistant(**{key: row[key] for key in Assistant.__slots__})


def _version(row: dict[str, Any]) -> AssistantVersion:
    return AssistantVersion(**{key: row[key] for key in AssistantVersion.__slots__})


def _fields(assistant: Assistant) -> tuple:
    return (
        assistant.graph_id,
        assistant.name,
        assistant.description,
        Jsonb(assistant.config),
        Jsonb(assistant.context),
        Jsonb(assistant.metadata),
    )


class PostgresAssistantStore(AssistantStore):
    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def create(self, assistant: Assistant) -> bool:
        async with self.db.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"INSERT INTO threaddesk_assistants ({_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s) ON CONFLICT (assistant_id) DO NOTHING",
                (assistant.assistant_id, *_fields(assistant), assistant.created_at, assistant.created_at),
            )
            if cur.rowcount == 0:
                return False
            await conn.execute(
                f"INSERT INTO threaddesk_assistant_versions ({_VERSION_COLUMNS})"
                " VALUES (%s, 1, %s, %s, %s, %s, %s, %s, %s)",
                (assistant.assistant_id, *_fields(assistant), assistant.created_at),
            )
            return True

    async def get(self, assistant_id: str) -> Assistant | None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM threaddesk_assistants WHERE assistant_id = %s", (assistant_id,)
            )
            row = await cur.fetchone()
        return None if row is None else _assistant(row)

    async def list(self) -> builtins.list[Assistant]:
        async with self.db.connection() as conn:
            cur = await conn.execute(f"SELECT {_COLUMNS} FROM threaddesk_assistants")
            rows = await cur.fetchall()
        return [_assistant(row) for row in rows]

    async def add_version(self, assistant: Assistant, at: datetime) -> Assistant | None:
        async with self.db.connection() as conn, conn.transaction():
            # The row lock serialises updates of one assistant across replicas: each takes the next number.
            cur = await conn.execute(
                "SELECT 1 FROM threaddesk_assistants WHERE assistant_id = %s FOR UPDATE",
                (assistant.assistant_id,),
            )
            if await cur.fetchone() is None:
                return None
            await conn.execute(
                f"INSERT INTO threaddesk_assistant_versions ({_VERSION_COLUMNS})"
                " SELECT %s, MAX(version) + 1, %s, %s, %s, %s, %s, %s, %s FROM threaddesk_assistant_versions"
                " WHERE assistant_id = %s",
                (assistant.assistant_id, *_fields(assistant), at, assistant.assistant_id),
            )
            cur = await conn.execute(
                "UPDATE threaddesk_assistants SET graph_id = %s, name = %s, description = %s, config = %s,"
                " context = %s, metadata = %s, updated_at = %s, version = (SELECT MAX(version)"
                " FROM threaddesk_assistant_versions WHERE assistant_id = %s) WHERE assistant_id = %s"
                f" RETURNING {_COLUMNS}",
                (*_fields(assistant), at, assistant.assistant_id, assistant.assistant_id),
            )
            row = await cur.fetchone()
        return None if row is None else _assistant(row)

    async def set_latest(self, assistant_id: str, version: int, at: datetime) -> Assistant | None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE threaddesk_assistants AS a SET graph_id = v.graph_id, name = v.name,"
                " description = v.description, config = v.config, context = v.context,"
                " metadata = v.metadata, version = v.version, updated_at = %s"
                " FROM threaddesk_assistant_versions AS v"
                " WHERE a.assistant_id = %s AND v.assistant_id = a.assistant_id AND v.version = %s"
                f" RETURNING {', '.join('a.' + c.strip() for c in _COLUMNS.split(','))}",
                (at, assistant_id, version),
            )
            row = await cur.fetchone()
        return None if row is None else _assistant(row)

    async def versions(self, assistant_id: str) -> builtins.list[AssistantVersion]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM threaddesk_assistant_versions WHERE assistant_id = %s"
                " ORDER BY version DESC",
                (assistant_id,),
            )
            rows = await cur.fetchall()
        return [_version(row) for row in rows]

    async def delete(self, assistant_id: str) -> bool:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM threaddesk_assistants WHERE assistant_id = %s", (assistant_id,)
            )
            return cur.rowcount > 0
