"""The bad-input corpus against the `threaddesk` command, on a SQLite file.

Every case exits with its documented code and says why on stderr (never a
traceback); a case that must not write leaves the database file, its WAL and
every table's rows as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.bad_input import Snapshot, assert_unchanged, cases, checkpoint, repeated


@pytest.fixture
def seeded(open_db) -> None:
    with open_db() as desk:
        desk.threads.create("alice", "victim", title="Alice's", metadata={"tier": "gold"})
        desk.send("victim", "Hi, I'm Alice.", user_id="alice")
        desk.threads.create("bob", "bobs", title="Bob's")


@pytest.mark.parametrize("case", cases("cli"))
def test_bad_input_on_the_command_line(run, db: Path, seeded, case) -> None:
    args = list(case["args"])
    if "generate_arg" in case:
        args.append(repeated(case["generate_arg"]))
    stdin = repeated(case["generate_input"]) + "\n" if "generate_input" in case else case.get("input")
    checkpoint(db)
    before = Snapshot.take(db)
    result = run(*args, input=stdin)
    assert result.exit_code == case["exit"], (result.stdout[-300:], result.stderr[-300:])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if case["exit"]:
        assert case["stderr"] in result.stderr and "Traceback" not in result.stderr, result.stderr[-300:]
    if "stdout" in case:
        assert result.stdout.strip() == case["stdout"]
    if not case["writes"]:
        assert_unchanged(before, Snapshot.take(db))
    if "stored" in case:
        shown = run(*case["stored"]["args"])
        assert shown.exit_code == 0
        assert case["stored"]["text"] in json.dumps(json.loads(shown.stdout), ensure_ascii=False)
