"""threaddesk's own tables in PostgreSQL, beside LangGraph's, applied once per database."""

from __future__ import annotations

import asyncio

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore
from psycopg import AsyncConnection
from psycopg.rows import DictRow

# Each migration is a list of statements (psycopg sends one statement per execute).
_M001_THREADS = [
    """
    CREATE TABLE threaddesk_threads (
        thread_id TEXT COLLATE "C" PRIMARY KEY,
        user_id TEXT NOT NULL,
        title TEXT,
        metadata JSONB NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'idle',
        created_at TIMESTAMPTZ NOT NULL,
        last_active_at TIMESTAMPTZ NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX threaddesk_threads_by_user"
    " ON threaddesk_threads (user_id, last_active_at DESC, thread_id DESC)",
    "CREATE INDEX threaddesk_threads_by_activity ON threaddesk_threads (last_active_at DESC, thread_id DESC)",
]

_M002_USERS = [
    """
    CREATE TABLE threaddesk_users (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        is_admin BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
]

_M003_MESSAGES = [
    """
    CREATE TABLE threaddesk_messages (
        thread_id TEXT COLLATE "C" NOT NULL,
        position INTEGER NOT NULL,
        type TEXT NOT NULL,
        message BYTEA NOT NULL,
        PRIMARY KEY (thread_id, position)
    )
    """,
]

_M004_MESSAGE_SEARCH = [
    # The text of questions and replies (see `storage.postgres.search`); it goes with its thread.
    """
    CREATE TABLE threaddesk_message_text (
        id BIGSERIAL PRIMARY KEY,
        thread_id TEXT COLLATE "C" NOT NULL REFERENCES threaddesk_threads (thread_id) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        role TEXT NOT NULL,
        body TEXT NOT NULL,
        words TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
        UNIQUE (thread_id, message_id)
    )
    """,
    "CREATE INDEX threaddesk_message_text_words ON threaddesk_message_text USING GIN (words)",
]

_M005_RUNS = [
    """
    CREATE TABLE threaddesk_runs (
        run_id TEXT COLLATE "C" PRIMARY KEY,
        thread_id TEXT COLLATE "C" NOT NULL,
        assistant_id TEXT NOT NULL,
        status TEXT NOT NULL,
        metadata JSONB NOT NULL DEFAULT '{}',
        kwargs JSONB NOT NULL DEFAULT '{}',
        multitask_strategy TEXT NOT NULL,
        error TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        lease_until TIMESTAMPTZ
    )
    """,
    "CREATE INDEX threaddesk_runs_by_thread ON threaddesk_runs (thread_id, created_at DESC)",
]
# Background runs as a queue any process may serve (see storage/sqlite/migrations.py `_m007_run_queue`).
_M007_RUN_QUEUE = [
    "ALTER TABLE threaddesk_runs ADD COLUMN payload BYTEA",
    "ALTER TABLE threaddesk_runs ADD COLUMN not_before TIMESTAMPTZ",
    "ALTER TABLE threaddesk_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE threaddesk_runs ADD COLUMN worker TEXT",
    "CREATE INDEX threaddesk_runs_queue ON threaddesk_runs (not_before, run_id)"
    " WHERE status IN ('pending', 'running')",
    "CREATE INDEX threaddesk_runs_unfinished ON threaddesk_runs (thread_id)"
    " WHERE status IN ('pending', 'running')",
]

# A run's cancel request and its kept stream events (see storage/sqlite/migrations.py).
_M006_RUN_CANCEL_AND_EVENTS = [
    "ALTER TABLE threaddesk_runs ADD COLUMN cancel_action TEXT",
    """
    CREATE TABLE threaddesk_run_events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        thread_id TEXT NOT NULL,
        event TEXT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (run_id, seq)
    )
    """,
    "CREATE INDEX threaddesk_run_events_by_thread ON threaddesk_run_events (thread_id)",
]


_M009_TOOLS = [
    # The support tools' demo orders and the tickets the agent opens (see `storage.postgres.orders`).
    """
    CREATE TABLE threaddesk_orders (
        order_id INTEGER PRIMARY KEY,
        customer TEXT NOT NULL,
        item TEXT NOT NULL,
        status TEXT NOT NULL,
        placed_on TEXT NOT NULL,
        carrier TEXT,
        tracking TEXT,
        arrives_on TEXT
    )
    """,
    "CREATE INDEX threaddesk_orders_by_customer ON threaddesk_orders (customer, order_id)",
    """
    CREATE TABLE threaddesk_tickets (
        ticket_id BIGSERIAL PRIMARY KEY,
        customer TEXT NOT NULL,
        thread_id TEXT COLLATE "C" NOT NULL,
        call_id TEXT NOT NULL,
        order_id INTEGER NOT NULL,
        reason TEXT NOT NULL,
        details TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        UNIQUE (thread_id, call_id)
    )
    """,
    # One open ticket per customer, order and reason: asking twice finds the first.
    "CREATE UNIQUE INDEX threaddesk_tickets_open ON threaddesk_tickets (customer, order_id, reason)"
    " WHERE status = 'open'",
]


# User roles (customer, agent, admin); `is_admin` stays, kept equal to `role = 'admin'`.
_M010_HANDOFF = [
    "ALTER TABLE threaddesk_users ADD COLUMN role TEXT NOT NULL DEFAULT 'customer'",
    "UPDATE threaddesk_users SET role = 'admin' WHERE is_admin",
]

_M008_ASSISTANTS = [
    # Stored assistants (the active version's fields) and every version of each.
    """
    CREATE TABLE threaddesk_assistants (
        assistant_id TEXT COLLATE "C" PRIMARY KEY,
        graph_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        config JSONB NOT NULL DEFAULT '{}',
        context JSONB NOT NULL DEFAULT '{}',
        metadata JSONB NOT NULL DEFAULT '{}',
        version INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE threaddesk_assistant_versions (
        assistant_id TEXT COLLATE "C" NOT NULL
            REFERENCES threaddesk_assistants (assistant_id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        graph_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        config JSONB NOT NULL DEFAULT '{}',
        context JSONB NOT NULL DEFAULT '{}',
        metadata JSONB NOT NULL DEFAULT '{}',
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (assistant_id, version)
    )
    """,
]

# threaddesk's own tables, beside LangGraph's `checkpoints`, `checkpoint_blobs` and
# `checkpoint_writes`. Append only; same names, order and columns as storage/sqlite/migrations.py
# (tests/storage/test_migrations.py checks).
MIGRATIONS: list[tuple[str, list[str]]] = [
    ("001_threads", _M001_THREADS),
    ("002_users", _M002_USERS),
    ("003_messages", _M003_MESSAGES),
    ("004_message_search", _M004_MESSAGE_SEARCH),
    ("005_runs", _M005_RUNS),
    ("006_run_cancel_and_events", _M006_RUN_CANCEL_AND_EVENTS),
    ("007_run_queue", _M007_RUN_QUEUE),
    ("008_assistants", _M008_ASSISTANTS),
    ("009_tools", _M009_TOOLS),
    ("010_handoff", _M010_HANDOFF),
]


async def _try_lock(conn: AsyncConnection[DictRow], key: int) -> bool:
    row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,))).fetchone()
    return row is not None and bool(row["ok"])


async def migrate(conn: AsyncConnection[DictRow], lock_key: int) -> list[str]:
    """Set up LangGraph's tables, then apply pending migrations; return the names applied.

    Idempotent, and safe when several replicas start at once: everything runs
    under one session advisory lock (`lock_key`). Waiters poll `pg_try_advisory_lock`
    rather than block in `pg_advisory_lock`, because a blocked statement holds
    a snapshot that the checkpointer's `CREATE INDEX CONCURRENTLY` would wait
    for, a deadlock. `conn` must be in autocommit mode, outside a transaction.
    """
    while not await _try_lock(conn, lock_key):
        await asyncio.sleep(0.05)
    try:
        await AsyncPostgresSaver(conn).setup()
        await AsyncPostgresStore(conn).setup()  # LangGraph's store (the /store API), same lock
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS threaddesk_migrations"
            " (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {
            row["name"]
            for row in await (await conn.execute("SELECT name FROM threaddesk_migrations")).fetchall()
        }
        applied = []
        async with conn.transaction():
            for name, statements in MIGRATIONS:
                if name not in done:
                    for sql in statements:
                        await conn.execute(sql)
                    await conn.execute("INSERT INTO threaddesk_migrations (name) VALUES (%s)", (name,))
                    applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
