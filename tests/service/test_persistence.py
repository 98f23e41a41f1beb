"""A conversation written by one process is continued by another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from threaddesk import ThreadDesk
with ThreadDesk.open(database_url=sys.argv[1]) as desk:
    reply = desk.send("alice_session", sys.argv[2], user_id="alice", create=True)
    print(reply.text)
    print(desk.threads.get("alice_session").message_count)
"""


def _run(db: Path, text: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db), text], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_new_process_continues_the_conversation(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    assert _run(db, "Hi, I'm Alice.") == ["Hello Alice! How can I help?", "2"]
    assert _run(db, "What's my name?") == ["Your name is Alice!", "4"]
    assert db.exists() and db.stat().st_size > 0


def test_registry_and_checkpoints_share_one_file(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "desk.sqlite"
    _run(db, "Hi, I'm Alice.")
    conn = sqlite3.connect(db)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"threaddesk_threads", "checkpoints", "writes", "threaddesk_migrations"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id='alice_session'").fetchone()[0] >= 1
