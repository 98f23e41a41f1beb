"""The bad-input corpus (tests/data/bad_input.json) and the check that a request wrote nothing."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = json.loads((Path(__file__).parent.parent / "data" / "bad_input.json").read_text("utf-8"))


def cases(surface: str) -> list[Any]:
    """pytest params of one surface ("http" or "cli"), with the case names as ids."""
    import pytest

    return [pytest.param(case, id=case["name"]) for case in CORPUS[surface]]


def nested(field: str, depth: int) -> str:
    """`{"field": {"a": {"a": ... 1 ...}}}` as text: `json.dumps` itself cannot build it that deep."""
    return json.dumps({field: 0})[:-2] + '{"a": ' * depth + "1" + "}" * depth + "}"


def repeated(spec: dict[str, Any]) -> str:
    return spec.get("prefix", "") + spec["char"] * spec["times"] + spec.get("suffix", "")


def generated_body(spec: dict[str, Any]) -> str:
    if "nested" in spec:
        return nested(**spec["nested"])
    repeat = spec["repeat"]
    value: Any = repeated(repeat)
    if "key" in repeat:
        value = {repeat["key"]: value}
    return json.dumps({repeat["field"]: value}, ensure_ascii=False)


@dataclass(frozen=True)
class Snapshot:
    """A SQLite database as bytes (the file and its WAL) and as a logical dump of every table.

    Bytes are the strict check; a write that changed nothing logically would
    still show up there. The dump (`iterdump`: schema and every row of every
    table, LangGraph's `checkpoints` and `writes` included) says *what* changed
    when the bytes differ.
    """

    file_hashes: dict[str, str]
    dump: list[str]

    @classmethod
    def take(cls, path: Path) -> Snapshot:
        hashes = {}
        for suffix in ("", "-wal"):
            part = Path(f"{path}{suffix}")
            # SQLite deletes an empty WAL when the last connection closes: absent == empty.
            hashes[part.name] = hashlib.sha256(part.read_bytes() if part.exists() else b"").hexdigest()
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return cls(hashes, list(conn.iterdump()))
        finally:
            conn.close()


def checkpoint(path: Path) -> None:
    """Fold the WAL into the file and empty it, so a later write shows as new WAL bytes."""
    conn = sqlite3.connect(path)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the checkpoint could not complete (a reader or writer is active)"
    finally:
        conn.close()


def assert_unchanged(before: Snapshot, after: Snapshot) -> None:
    if after.dump != before.dump:
        gone = sorted(set(before.dump) - set(after.dump))[:5]
        new = sorted(set(after.dump) - set(before.dump))[:5]
        raise AssertionError(f"the data changed: removed {gone}, added {new}")
    assert after.file_hashes == before.file_hashes, "the database file or its WAL changed"


def postgres_dump(url: str) -> list[str]:
    """Every row of every table in the URL's schema (LangGraph's too), as sorted text."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                " ORDER BY table_name"
            )
        ]
        return [
            f"{table}: {row}"
            for table in tables
            for row in sorted(str(r) for r in conn.execute(f'SELECT * FROM "{table}"'))
        ]
