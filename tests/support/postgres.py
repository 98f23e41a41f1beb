"""A throwaway PostgreSQL schema per test, on the server named by THREADDESK_TEST_POSTGRES_URL.

Each schema gets its own URL (`options=-csearch_path=<schema>`), so threaddesk's
tables and LangGraph's checkpoint tables both land in it, and dropping it
cleans up everything. Where the variable is unset or the server unreachable,
tests that need it skip and say why.
"""

from __future__ import annotations

import atexit
import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    import psycopg

ENV = "THREADDESK_TEST_POSTGRES_URL"
# Read at import: the autouse settings fixture clears THREADDESK_* before each test runs.
SERVER_URL = os.environ.get(ENV, "")


@functools.cache
def _unavailable_reason() -> str | None:
    if not SERVER_URL:
        return f"{ENV} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)"
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: pip install -e '.[dev,postgres]'"
    try:
        psycopg.connect(SERVER_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {ENV} is unreachable: {exc}"
    return None


def require_postgres() -> str:
    """The server URL, or skip the calling test with the reason there is none."""
    reason = _unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return SERVER_URL


def schema_url(server_url: str, schema: str) -> str:
    separator = "&" if "?" in server_url else "?"
    return f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """Create a fresh schema, yield a database URL confined to it, drop it afterwards."""
    import psycopg

    server_url = require_postgres()
    schema = f"td_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(server_url, schema)
    finally:
        _drop(server_url, schema)


# --- recycled schemas ----------------------------------------------------------------------------
#
# Creating a schema is cheap; migrating it is not (LangGraph's checkpointer runs a `CREATE INDEX
# CONCURRENTLY`, which waits for every older transaction in the database, and all of it runs under
# one database-wide advisory lock that every other process testing on this server contends for).
# Most PostgreSQL tests check behaviour over an *empty* database, not the migrations: they get a
# schema that an earlier test used, emptied (rows deleted, sequences restarted), and reused only if
# its structure (tables, columns, defaults, constraints, indexes, triggers, functions) and its
# migration records are still exactly those of a freshly migrated schema. Anything else, or any
# error, and it is dropped as before. Tests of migrations and of opening a new database keep
# `postgres_schema()`: always a new, empty schema.

_MIGRATION_TABLES = ("checkpoint_migrations", "store_migrations", "threaddesk_migrations")
_FINGERPRINT = """
SELECT 'rel', c.relname, c.relkind::text || c.relpersistence::text || coalesce(c.reloptions::text, '')
  FROM pg_class c WHERE c.relnamespace = %(oid)s::oid
UNION ALL
SELECT 'col', c.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod) || a.attnotnull::text
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = %(oid)s::oid AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'con', c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
 WHERE c.connamespace = %(oid)s::oid
UNION ALL
SELECT 'idx', i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = %(ns)s::name
UNION ALL
SELECT 'trg', t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(oid)s::oid AND NOT t.tgisinternal
UNION ALL
SELECT 'fn', p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p
 WHERE p.pronamespace = %(oid)s::oid
UNION ALL
SELECT 'typ', t.typname, t.typtype::text FROM pg_type t
 WHERE t.typnamespace = %(oid)s::oid AND t.typtype NOT IN ('b', 'c')
"""

_pool: list[str] = []
_pristine: tuple[tuple[str, ...], ...] | None = None
recycled_counts = {"reused": 0, "dropped": 0}


def _namespace_oid(conn: psycopg.Connection, schema: str) -> int:
    row = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if row is None:
        raise LookupError(schema)
    return int(row[0])


def _fingerprint(conn: psycopg.Connection, schema: str) -> tuple[tuple[str, ...], ...]:
    rows = [
        tuple(str(v).replace(schema, "<schema>") for v in row)
        for row in conn.execute(_FINGERPRINT, {"ns": schema, "oid": _namespace_oid(conn, schema)})
    ]
    for table in _MIGRATION_TABLES:  # their first column: the migration's name or version, not its time
        rows += [("mig", table, str(row[0])) for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"')]
    return tuple(sorted(rows))


def _migrate(url: str) -> None:
    """Run threaddesk's migrations on `url` (in a thread: the caller may be inside an event loop)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from threaddesk.storage import open_storage

    async def migrate() -> None:
        await (await open_storage(url)).aclose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()


def _drop(server_url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _recycle(server_url: str, schema: str) -> None:
    """Empty `schema` into the pool if it is still structurally pristine; drop it otherwise."""
    import psycopg

    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '5s'")
            if _fingerprint(conn, schema) != _pristine:
                raise LookupError(schema)
            tables = [
                row[0]
                for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
                if row[0] not in _MIGRATION_TABLES
            ]
            # DELETE, not TRUNCATE: a handful of rows, and TRUNCATE makes (and syncs) new files per table.
            # A foreign key without ON DELETE CASCADE in the way fails the transaction: the schema is dropped.
            with conn.transaction():
                for table in tables:
                    conn.execute(f'DELETE FROM "{schema}"."{table}"')
                conn.execute(
                    "SELECT setval(format('%%I.%%I', schemaname, sequencename), start_value, false)"
                    " FROM pg_sequences WHERE schemaname = %s",
                    (schema,),
                )
    except (LookupError, psycopg.Error):
        recycled_counts["dropped"] += 1
        _drop(server_url, schema)
    else:
        _pool.append(schema)


@contextmanager
def recycled_postgres_schema() -> Iterator[str]:
    """Like `postgres_schema()`, but the schema may be an earlier test's, migrated and emptied.

    Every table is empty and its sequences restarted; its structure and migration records
    are those of a freshly migrated schema (checked before reuse). For tests of behaviour over an
    empty database, not of migrations or of opening a new database.
    """
    import psycopg

    global _pristine
    server_url = require_postgres()
    if _pool:
        schema = _pool.pop()
        recycled_counts["reused"] += 1
    else:
        schema = f"td_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        if _pristine is None:
            _migrate(schema_url(server_url, schema))
            with psycopg.connect(server_url, autocommit=True) as conn:
                _pristine = _fingerprint(conn, schema)
    try:
        yield schema_url(server_url, schema)
    finally:
        _recycle(server_url, schema)


@atexit.register
def _drop_pool() -> None:
    while _pool:
        try:
            _drop(SERVER_URL, _pool.pop())
        except Exception:  # the server went away: its schemas with it, or left for a human
            pass


def thread_lock_key(url: str, thread_id: str) -> int:
    """The advisory lock key threaddesk takes for `thread_id`'s turns on `url` (its schema counts)."""
    import psycopg

    from threaddesk.storage.postgres.database import turn_key

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
    assert row is not None
    return turn_key(row[0], thread_id)
