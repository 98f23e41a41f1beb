"""Assistants and their versions as tables in the SQLite file (schema: `migrations._m008_assistants`)."""

from __future__ import annotations

import builtins
import json
import sqlite3
from datetime import UTC, datetime

from threaddesk.assistants.interfaces import AssistantStore
from threaddesk.assistants.models import Assistant, AssistantVersion
from threaddesk.storage.sqlite.database import SqliteDatabase

_FIELDS = "graph_id, name, description, config, context, metadata"
_COLUMNS = f"assistant_id, {_FIELDS}, version, created_at, updated_at"
_VERSION_COLUMNS = f"assistant_id, version, {_FIELDS}, created_at"


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _assistant(row: tuple) -> Assistant:
    assistant_id, graph_id, name, description, config, context, metadata, version, created, updated = row
    return Assistant(
        assistant_id,
        graph_id,
        name,
        description,
        json.loads(config),
        json.loads(context),
        json.loads(metadata),
        version,
        _ts(created),
        _ts(updated),
    )


def _version(row: tuple) -> AssistantVersion:
    assistant_id, version, graph_id, name, description, config, context, metadata, created = row
    return AssistantVersion(
        assistant_id,
        version,
        graph_id,
        name,
        description,
        json.loads(config),
        json.loads(context),
        json.loads(metadata),
        _ts(created),
    )


def _fields(assistant: Assistant) -> tuple:
    return (
        assistant.graph_id,
        assistant.name,
        assistant.description,
        json.dumps(assistant.config),
        json.dumps(assistant.context),
        json.dumps(assistant.metadata),
    )


def _current(conn: sqlite3.Connection, assistant_id: str) -> Assistant | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM threaddesk_assistants WHERE assistant_id = ?", (assistant_id,)
    ).fetchone()
    return None if row is None else _assistant(row)


class SqliteAssistantStore(AssistantStore):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def create(self, assistant: Assistant) -> bool:
        created = assistant.created_at.timestamp()

        def insert(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                f"INSERT INTO threaddesk_assistants ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT (assistant_id) DO NOTHING",
                (assistant.assistant_id, *_fields(assistant), created, created),
            )
            if cursor.rowcount == 0:
                return False
            conn.execute(
                f"INSERT INTO threaddesk_assistant_versions ({_VERSION_COLUMNS})"
                " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)",
                (assistant.assistant_id, *_fields(assistant), created),
            )
            return True

        return await self.db.run(insert)

    async def get(self, assistant_id: str) -> Assistant | None:
        return await self.db.run(lambda conn: _current(conn, assistant_id))

    async def list(self) -> builtins.list[Assistant]:
        rows = await self.db.run(
            lambda conn: conn.execute(f"SELECT {_COLUMNS} FROM threaddesk_assistants").fetchall()
        )
        return [_assistant(row) for row in rows]

    async def add_version(self, assistant: Assistant, at: datetime) -> Assistant | None:
        def add(conn: sqlite3.Connection) -> Assistant | None:
            cursor = conn.execute(
                f"INSERT INTO threaddesk_assistant_versions ({_VERSION_COLUMNS})"
                " SELECT ?, MAX(version) + 1, ?, ?, ?, ?, ?, ?, ? FROM threaddesk_assistant_versions"
                " WHERE assistant_id = ? HAVING COUNT(*) > 0",
                (assistant.assistant_id, *_fields(assistant), at.timestamp(), assistant.assistant_id),
            )
            if cursor.rowcount == 0:
                return None
            conn.execute(
                "UPDATE threaddesk_assistants SET graph_id = ?, name = ?, description = ?, config = ?,"
                " context = ?, metadata = ?, updated_at = ?, version = (SELECT MAX(version)"
                " FROM threaddesk_assistant_versions WHERE assistant_id = ?) WHERE assistant_id = ?",
                (*_fields(assistant), at.timestamp(), assistant.assistant_id, assistant.assistant_id),
            )
            return _current(conn, assistant.assistant_id)

        return await self.db.run(add)

    async def set_latest(self, assistant_id: str, version: int, at: datetime) -> Assistant | None:
        def activate(conn: sqlite3.Connection) -> Assistant | None:
            cursor = conn.execute(
                "UPDATE threaddesk_assistants SET (graph_id, name, description, config, context, metadata,"
                f" version, updated_at) = (SELECT {_FIELDS}, version, ? FROM threaddesk_assistant_versions"
                " WHERE assistant_id = ? AND version = ?)"
                " WHERE assistant_id = ? AND EXISTS (SELECT 1 FROM threaddesk_assistant_versions"
                " WHERE assistant_id = ? AND version = ?)",
                (at.timestamp(), assistant_id, version, assistant_id, assistant_id, version),
            )
            return _current(conn, assistant_id) if cursor.rowcount else None

        return await self.db.run(activate)

    async def versions(self, assistant_id: str) -> builtins.list[AssistantVersion]:
        rows = await self.db.run(
            lambda conn: conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM threaddesk_assistant_versions WHERE assistant_id = ?"
                " ORDER BY version DESC",
                (assistant_id,),
            ).fetchall()
        )
        return [_version(row) for row in rows]

    async def delete(self, assistant_id: str) -> bool:
        def remove(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM threaddesk_assistant_versions WHERE assistant_id = ?", (assistant_id,))
            cursor = conn.execute("DELETE FROM threaddesk_assistants WHERE assistant_id = ?", (assistant_id,))
            return cursor.rowcount > 0

        return await self.db.run(remove)
