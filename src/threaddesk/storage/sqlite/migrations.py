"""threaddesk's own tables in the SQLite file, beside LangGraph's `checkpoints` and `writes`.

An ordered list of small migrations; `migrate` records each applied name in
`threaddesk_migrations` and runs on every open, so it is idempotent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime


def _m001_threads(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE threaddesk_threads (
            thread_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            title TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'idle',
            created_at REAL NOT NULL,
            last_active_at REAL NOT NULL,
            message_count INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    conn.execute(
        "CREATE INDEX threaddesk_threads_by_user"
        " ON threaddesk_threads (user_id, last_active_at DESC, thread_id DESC)"
    )
    conn.execute(
        "CREATE INDEX threaddesk_threads_by_activity"
        " ON threaddesk_threads (last_active_at DESC, thread_id DESC)"
    )


def _m002_users(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE threaddesk_users (
            name TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            is_admin INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )
        """
    )


def _m003_messages(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE threaddesk_messages (
            thread_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            type TEXT NOT NULL,
            message BLOB NOT NULL,
            PRIMARY KEY (thread_id, position)
        ) WITHOUT ROWID
        """
    )


def _m004_message_search(conn: sqlite3.Connection) -> None:
    """The text of questions and replies, with an FTS5 index over it (see `storage.sqlite.search`)."""
    conn.execute(
        """
        CREATE TABLE threaddesk_message_text (
            id INTEGER PRIMARY KEY,
            thread_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            role TEXT NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (thread_id, message_id)
        )
        """
    )
    # External content: the index holds only the tokens; triggers keep it in step with the table.
    conn.execute(
        "CREATE VIRTUAL TABLE threaddesk_message_fts USING fts5(body,"
        " content='threaddesk_message_text', content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
    )
    conn.execute(
        "CREATE TRIGGER threaddesk_message_text_added AFTER INSERT ON threaddesk_message_text BEGIN"
        " INSERT INTO threaddesk_message_fts (rowid, body) VALUES (new.id, new.body); END"
    )
    conn.execute(
        "CREATE TRIGGER threaddesk_message_text_removed AFTER DELETE ON threaddesk_message_text BEGIN"
        " INSERT INTO threaddesk_message_fts (threaddesk_message_fts, rowid, body)"
        " VALUES ('delete', old.id, old.body); END"
    )
    # A thread's text goes in the statement that removes the thread, whoever removes it.
    conn.execute(
        "CREATE TRIGGER threaddesk_threads_removed AFTER DELETE ON threaddesk_threads BEGIN"
        " DELETE FROM threaddesk_message_text WHERE thread_id = old.thread_id; END"
    )


def _m005_runs(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE threaddesk_runs (
            run_id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            assistant_id TEXT NOT NULL,
            status TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            kwargs TEXT NOT NULL DEFAULT '{}',
            multitask_strategy TEXT NOT NULL,
            error TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            lease_until REAL
        )
        """
    )
    conn.execute("CREATE INDEX threaddesk_runs_by_thread ON threaddesk_runs (thread_id, created_at DESC)")


def _m007_run_queue(conn: sqlite3.Connection) -> None:
    """Background runs as a queue any process may serve: each row carries its request (`payload`),
    when it may start, how often it was started, and which worker holds it."""
    conn.execute("ALTER TABLE threaddesk_runs ADD COLUMN payload BLOB")
    conn.execute("ALTER TABLE threaddesk_runs ADD COLUMN not_before REAL")
    conn.execute("ALTER TABLE threaddesk_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE threaddesk_runs ADD COLUMN worker TEXT")
    conn.execute(
        "CREATE INDEX threaddesk_runs_queue ON threaddesk_runs (not_before, run_id)"
        " WHERE status IN ('pending', 'running')"
    )
    conn.execute(
        "CREATE INDEX threaddesk_runs_unfinished ON threaddesk_runs (thread_id)"
        " WHERE status IN ('pending', 'running')"
    )


def _m006_run_cancel_and_events(conn: sqlite3.Connection) -> None:
    """A run's cancel request (read by whichever process runs it) and its kept stream events.

    `cancel_action` is set (`interrupt` or `rollback`) on a running run by whoever cancels it;
    the process executing the run polls it (see `threaddesk.runs.cancel`). The events of a run
    made with `stream_resumable` are kept in order (`seq`) so a client can join or resume its
    stream, from any process (see `threaddesk.runs.events`).
    """
    conn.execute("ALTER TABLE threaddesk_runs ADD COLUMN cancel_action TEXT")
    conn.execute(
        """
        CREATE TABLE threaddesk_run_events (
            run_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            thread_id TEXT NOT NULL,
            event TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID
        """
    )
    conn.execute("CREATE INDEX threaddesk_run_events_by_thread ON threaddesk_run_events (thread_id)")


def _m008_assistants(conn: sqlite3.Connection) -> None:
    """Stored assistants (the active version's fields) and every version of each."""
    conn.execute(
        """
        CREATE TABLE threaddesk_assistants (
            assistant_id TEXT PRIMARY KEY,
            graph_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            config TEXT NOT NULL DEFAULT '{}',
            context TEXT NOT NULL DEFAULT '{}',
            metadata TEXT NOT NULL DEFAULT '{}',
            version INTEGER NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE threaddesk_assistant_versions (
            assistant_id TEXT NOT NULL REFERENCES threaddesk_assistants (assistant_id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            graph_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            config TEXT NOT NULL DEFAULT '{}',
            context TEXT NOT NULL DEFAULT '{}',
            metadata TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            PRIMARY KEY (assistant_id, version)
        ) WITHOUT ROWID
        """
    )


def _m009_tools(conn: sqlite3.Connection) -> None:
    """The support tools' demo orders and the tickets the agent opens (see `storage.sqlite.orders`)."""
    conn.execute(
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
        """
    )
    conn.execute("CREATE INDEX threaddesk_orders_by_customer ON threaddesk_orders (customer, order_id)")
    conn.execute(
        """
        CREATE TABLE threaddesk_tickets (
            ticket_id INTEGER PRIMARY KEY,
            customer TEXT NOT NULL,
            thread_id TEXT NOT NULL,
            call_id TEXT NOT NULL,
            order_id INTEGER NOT NULL,
            reason TEXT NOT NULL,
            details TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (thread_id, call_id)
        )
        """
    )
    # One open ticket per customer, order and reason: asking twice finds the first.
    conn.execute(
        "CREATE UNIQUE INDEX threaddesk_tickets_open ON threaddesk_tickets (customer, order_id, reason)"
        " WHERE status = 'open'"
    )


def _m010_handoff(conn: sqlite3.Connection) -> None:
    """User roles (customer, agent, admin); `is_admin` stays, kept equal to `role = 'admin'`."""
    conn.execute("ALTER TABLE threaddesk_users ADD COLUMN role TEXT NOT NULL DEFAULT 'customer'")
    conn.execute("UPDATE threaddesk_users SET role = 'admin' WHERE is_admin")


# threaddesk's own tables, beside LangGraph's `checkpoints` and `writes`.
# Append only: each migration runs once per database, in this order.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_threads", _m001_threads),
    ("002_users", _m002_users),
    ("003_messages", _m003_messages),
    ("004_message_search", _m004_message_search),
    ("005_runs", _m005_runs),
    ("006_run_cancel_and_events", _m006_run_cancel_and_events),
    ("007_run_queue", _m007_run_queue),
    ("008_assistants", _m008_assistants),
    ("009_tools", _m009_tools),
    ("010_handoff", _m010_handoff),
]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in one transaction; return the names applied. Idempotent."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS threaddesk_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM threaddesk_migrations")}
        applied = []
        for name, step in MIGRATIONS:
            if name not in done:
                step(conn)
                conn.execute(
                    "INSERT INTO threaddesk_migrations (name, applied_at) VALUES (?, ?)",
                    (name, datetime.now(UTC).timestamp()),
                )
                applied.append(name)
        conn.commit()
        return applied
    except BaseException:
        conn.rollback()
        raise
