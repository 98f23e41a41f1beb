"""A throwaway PostgreSQL schema per test, on the server named by THREADDESK_TEST_POSTGRES_URL.

Each schema gets its own URL (`options=-csearch_path=<schema>`), so threaddesk's
tables and LangGraph's checkpoint tables both land in it, and dropping it
cleans up everything. Where the variable is unset or the server unreachable,
tests that need it skip and say why.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

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
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def thread_lock_key(url: str, thread_id: str) -> int:
    """The advisory lock key threaddesk takes for `thread_id`'s turns on `url` (its schema counts)."""
    import psycopg

    from threaddesk.storage.postgres.database import turn_key

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
    assert row is not None
    return turn_key(row[0], thread_id)
