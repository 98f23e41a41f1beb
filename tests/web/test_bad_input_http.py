"""The bad-input corpus against the HTTP API, on SQLite and PostgreSQL, with the default size limits.

Every case gets its documented status and error code. A case that must not
write leaves every table's rows as they were, on SQLite also the file and its
WAL byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.bad_input import (
    Snapshot,
    assert_unchanged,
    cases,
    checkpoint,
    generated_body,
    nested,
    postgres_dump,
    repeated,
)
from support.postgres import recycled_postgres_schema

from threaddesk import Settings, SupportDesk


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite (checked byte for byte), or PostgreSQL where a test asks for it."""
    if getattr(request, "param", "sqlite") == "postgres":
        with recycled_postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "corpus.sqlite")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)  # the documented defaults: 32 KiB messages, 1 MiB bodies


@pytest.fixture
async def seeded(web_desk: SupportDesk, alice, bob, admin) -> dict[str, Any]:
    await web_desk.threads.create("alice", "victim", title="Alice's", metadata={"tier": "gold"})
    await web_desk.send("victim", "Hi, I'm Alice.", user_id="alice")
    await web_desk.threads.create("bob", "bobs", title="Bob's")
    return {"alice": alice.headers, "bob": bob.headers, "root": admin.headers, "none": {}}


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1 << 20):
        yield body[start : start + (1 << 20)]


def _request(case: dict[str, Any], callers: dict[str, dict[str, str]]) -> dict[str, Any]:
    headers = {**callers[case.get("as", "alice")], **case.get("headers", {})}
    if "generate_header" in case:
        spec = case["generate_header"]
        headers[spec["name"]] = repeated(spec)
    request: dict[str, Any] = {"headers": headers}
    if "json" in case:
        request["json"] = case["json"]
    elif "raw" in case or "raw_hex" in case:
        request["content"] = case["raw"].encode() if "raw" in case else bytes.fromhex(case["raw_hex"])
        headers["Content-Type"] = case["content_type"]
    elif "generate" in case:
        body = generated_body(case["generate"]).encode("utf-8")
        request["content"] = _chunks(body) if case.get("chunked") else body
        headers["Content-Type"] = "application/json"
    params = dict(case.get("query", {}))
    if "generate_query" in case and "nested" in case["generate_query"]:
        spec = case["generate_query"]["nested"]
        params[spec["field"]] = nested("a", spec["depth"])[len('{"a": ') : -1]
    elif "generate_query" in case:
        spec = case["generate_query"]["repeat"]
        params[spec["field"]] = repeated(spec)
    if params:
        request["params"] = params
    return request


def _snapshot(database_url: str) -> Snapshot | list[str]:
    if database_url.startswith("postgresql"):
        return postgres_dump(database_url)
    checkpoint(Path(database_url))
    return Snapshot.take(Path(database_url))


async def _run(client: httpx.AsyncClient, callers, database_url: str, case) -> None:
    before = _snapshot(database_url)
    response = await client.request(case["method"], case["path"], **_request(case, callers))
    assert response.status_code == case["status"], response.text[:300]
    if "code" in case:
        assert response.json()["error"]["code"] == case["code"], response.text[:300]
    if case["status"] >= 400:
        assert set(response.json()) == {"error"} and response.json()["error"]["message"]
    if not case["writes"] and isinstance(before, Snapshot):
        assert_unchanged(before, Snapshot.take(Path(database_url)))
    elif not case["writes"]:
        assert postgres_dump(database_url) == before
    if "stored" in case:
        shown = await client.get(case["stored"]["path"], headers=callers["alice"])
        assert shown.status_code == 200
        assert case["stored"]["text"] in json.dumps(shown.json(), ensure_ascii=False)


@pytest.mark.parametrize("case", cases("http"))
async def test_bad_input_over_http(client: httpx.AsyncClient, seeded, database_url: str, case) -> None:
    await _run(client, seeded, database_url, case)


# Cases that get past the web layer into the core and storage: PostgreSQL refuses some values
# (NUL in text and jsonb) that SQLite would store, so these run there too.
REACHING_STORAGE = [
    param
    for param in cases("http")
    if param.values[0]["status"] == 200
    or param.values[0].get("code") in {"invalid_argument", "invalid_duration", "message_too_large"}
]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("case", REACHING_STORAGE)
async def test_bad_input_reaching_storage_on_postgres(client, seeded, database_url: str, case) -> None:
    await _run(client, seeded, database_url, case)
