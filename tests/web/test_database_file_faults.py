"""The SQLite file deleted, replaced or made read-only under a running server: 503, not silent loss.

Before, turns kept answering 200 into an unlinked inode, and a restart found
every thread and user gone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import Caller

from threaddesk.storage.sqlite.file import CHECK_INTERVAL_S, DatabaseFile
from threaddesk.storage.sqlite.turnlock import sidecar_path


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return str(tmp_path / "desk.sqlite")


def _delete(path: Path) -> None:
    path.unlink()


def _replace(path: Path) -> None:
    other = path.with_name("other.sqlite")
    sqlite3.connect(other).close()
    os.replace(other, path)


def _make_read_only(path: Path) -> None:
    path.chmod(0o444)


async def _until_unavailable(client: httpx.AsyncClient) -> httpx.Response:
    """`/readyz` once it reports the fault (within a few check intervals)."""
    for _ in range(int(10 * CHECK_INTERVAL_S / 0.05)):
        response = await client.get("/readyz")
        if response.status_code != 200:
            return response
        await asyncio.sleep(0.05)
    return response


@pytest.mark.parametrize(
    "fault", [_delete, _replace, _make_read_only], ids=["deleted", "replaced", "read-only"]
)
async def test_a_database_file_gone_from_under_the_server_fails_readiness_and_turns_with_503(
    client: httpx.AsyncClient, alice: Caller, database_url: str, fault: Callable[[Path], None]
) -> None:
    assert (await client.post("/threads", json={"thread_id": "t1"}, headers=alice.headers)).status_code == 200
    sent = await client.post("/threads/t1/messages", json={"content": "Hello"}, headers=alice.headers)
    assert sent.status_code == 200, sent.text
    fault(Path(database_url))

    ready = await _until_unavailable(client)
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "storage_unavailable"
    turn = await client.post("/threads/t1/messages", json={"content": "Still there?"}, headers=alice.headers)
    created = await client.post("/threads", json={"thread_id": "t2"}, headers=alice.headers)
    for refused in (turn, created):
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "storage_unavailable"


async def test_a_deleted_turn_lock_file_fails_readiness_and_turns_with_503(
    client: httpx.AsyncClient, alice: Caller, database_url: str
) -> None:
    """Processes started after would lock a new file, so turns could interleave: refuse them instead."""
    assert (await client.post("/threads", json={"thread_id": "t1"}, headers=alice.headers)).status_code == 200
    sidecar_path(database_url).unlink()
    ready = await _until_unavailable(client)
    assert ready.status_code == 503
    assert "turn lock file" in ready.json()["error"]["message"]
    turn = await client.post("/threads/t1/messages", json={"content": "Hello"}, headers=alice.headers)
    assert turn.status_code == 503, turn.text
    assert turn.json()["error"]["code"] == "storage_unavailable"


async def test_a_read_only_file_made_writable_again_is_ready_again(
    client: httpx.AsyncClient, alice: Caller, database_url: str
) -> None:
    path = Path(database_url)
    path.chmod(0o444)
    assert (await _until_unavailable(client)).status_code == 503
    path.chmod(0o644)
    await asyncio.sleep(CHECK_INTERVAL_S * 1.5)
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.post("/threads", json={"thread_id": "t1"}, headers=alice.headers)).status_code == 200
    turn = await client.post("/threads/t1/messages", json={"content": "Hello"}, headers=alice.headers)
    assert turn.status_code == 200, turn.text


def test_the_file_is_looked_at_at_most_once_per_interval(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    sqlite3.connect(path).close()
    now = [0.0]
    file = DatabaseFile(path, interval=1.0, clock=lambda: now[0])
    assert file.problem() is None
    shutil.move(path, tmp_path / "moved.sqlite")
    now[0] = 0.9
    assert file.problem() is None  # not looked at yet
    now[0] = 1.0
    assert file.problem() == "was deleted"
    shutil.move(tmp_path / "moved.sqlite", path)  # the same file back in place
    now[0] = 2.0
    assert file.problem() is None
