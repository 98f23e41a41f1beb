"""Users and tokens over every storage backend: hashed at rest, shown once, revocable."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threaddesk.errors import InvalidUserId, UserExists, UserNotFound
from threaddesk.storage import open_storage
from threaddesk.storage.sqlite.migrations import migrate
from threaddesk.users import UserManager
from threaddesk.users.tokens import hash_token


@pytest.fixture
async def users(database_url: str) -> AsyncIterator[UserManager]:
    storage = await open_storage(database_url)
    try:
        yield UserManager(storage.users)
    finally:
        await storage.aclose()


async def test_add_returns_a_random_token_that_authenticates_its_user(users: UserManager) -> None:
    alice, alice_token = await users.add("alice")
    bob, bob_token = await users.add("bob", admin=True)
    assert alice_token != bob_token and len(alice_token) >= 43
    assert await users.authenticate(alice_token) == alice
    assert (await users.authenticate(bob_token)).is_admin
    assert not alice.is_admin


@pytest.mark.parametrize("token", [None, "", "nope", "x" * 10_000])
async def test_unknown_or_malformed_tokens_authenticate_nobody(users: UserManager, token: str | None) -> None:
    await users.add("alice")
    assert await users.authenticate(token) is None


async def test_names_are_unique_and_validated(users: UserManager) -> None:
    await users.add("alice")
    with pytest.raises(UserExists):
        await users.add("alice", admin=True)
    for bad in ["", "bad name", "-x", "a" * 65, "tab\tname"]:
        with pytest.raises(InvalidUserId):
            await users.add(bad)
    assert [u.name for u in await users.list()] == ["alice"]
    assert not (await users.get("alice")).is_admin


async def test_revoke_removes_the_user_and_kills_the_token(users: UserManager) -> None:
    _, token = await users.add("alice")
    await users.add("bob")
    await users.revoke("alice")
    assert await users.authenticate(token) is None
    assert [u.name for u in await users.list()] == ["bob"]
    with pytest.raises(UserNotFound):
        await users.revoke("alice")
    _, again = await users.add("alice")
    assert again != token and (await users.authenticate(again)).name == "alice"


async def test_bootstrap_creates_one_admin_only_on_an_empty_store(users: UserManager) -> None:
    first = await users.bootstrap_admin()
    assert first is not None
    admin, token = first
    assert admin.is_admin and (await users.authenticate(token)) == admin
    assert await users.bootstrap_admin() is None
    assert len(await users.list()) == 1


async def test_sqlite_stores_only_the_token_hash(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite"
    storage = await open_storage(str(path))
    _, token = await UserManager(storage.users).add("alice")
    await storage.aclose()
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert token not in dump
    assert hash_token(token) in dump
    reopened = await open_storage(str(path))
    try:
        assert (await UserManager(reopened.users).authenticate(token)).name == "alice"
    finally:
        await reopened.aclose()


def test_users_migration_creates_the_table_once() -> None:
    conn = sqlite3.connect(":memory:")
    assert "002_users" in migrate(conn)
    assert migrate(conn) == []
    columns = [row[1] for row in conn.execute("PRAGMA table_info(threaddesk_users)")]
    assert columns == ["name", "token_hash", "is_admin", "created_at", "role"]
