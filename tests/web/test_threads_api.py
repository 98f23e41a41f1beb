"""The native threads API: each route's happy path and each error status."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from threaddesk import Settings, SupportDesk
from threaddesk.web import create_app


async def test_create_with_chosen_id_title_and_metadata(client, alice) -> None:
    body = {"thread_id": "order-42", "title": "Refund", "metadata": {"tier": "gold"}}
    response = await client.post("/threads", json=body, headers=alice.headers)
    assert response.status_code == 200
    thread = response.json()
    assert thread["thread_id"] == "order-42" and thread["user_id"] == "alice"
    assert (thread["title"], thread["metadata"], thread["status"]) == ("Refund", {"tier": "gold"}, "idle")
    assert thread["updated_at"] == thread["last_active_at"] == thread["created_at"]


async def test_create_generates_an_id(client, alice) -> None:
    first = (await client.post("/threads", json={}, headers=alice.headers)).json()
    second = (await client.post("/threads", json={}, headers=alice.headers)).json()
    assert len(first["thread_id"]) == 36 and first["thread_id"] != second["thread_id"]


async def test_taken_id_is_409_unless_do_nothing_on_your_own(client, alice, bob) -> None:
    await client.post("/threads", json={"thread_id": "t1", "title": "first"}, headers=alice.headers)
    again = await client.post("/threads", json={"thread_id": "t1", "title": "second"}, headers=alice.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "thread_exists"
    kept = await client.post(
        "/threads",
        json={"thread_id": "t1", "title": "second", "if_exists": "do_nothing"},
        headers=alice.headers,
    )
    assert kept.status_code == 200 and kept.json()["title"] == "first"
    stolen = await client.post(
        "/threads", json={"thread_id": "t1", "if_exists": "do_nothing"}, headers=bob.headers
    )
    assert stolen.status_code == 409


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"thread_id": "has space"}, "invalid_thread_id"),
        ({"thread_id": "x" * 129}, "invalid_thread_id"),
        ({"thread_id": 7}, "invalid_request"),
        ({"title": ["not", "a", "string"]}, "invalid_request"),
        ({"metadata": "tier=gold"}, "invalid_request"),
        ({"if_exists": "replace"}, "invalid_request"),
        ({"title": "x" * 201}, "invalid_argument"),
    ],
)
async def test_create_rejects_bad_input_with_422_and_creates_nothing(
    client, web_desk, alice, body, code
) -> None:
    response = await client.post("/threads", json=body, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert (await web_desk.threads.list()).threads == []


async def test_get_returns_state_values(client, web_desk, alice) -> None:
    await web_desk.send("t1", "Hi, I'm Alice.", user_id="alice", create=True)
    thread = (await client.get("/threads/t1", headers=alice.headers)).json()
    assert thread["message_count"] == 2
    assert [m["type"] for m in thread["values"]["messages"]] == ["human", "ai"]
    assert thread["values"]["messages"][1]["content"] == "Hello Alice! How can I help?"


async def test_unknown_is_404_and_malformed_id_is_422(client, alice) -> None:
    assert (await client.get("/threads/missing", headers=alice.headers)).status_code == 404
    malformed = await client.get("/threads/bad%20id", headers=alice.headers)
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "invalid_thread_id"


async def test_patch_renames_and_merges_metadata(client, alice) -> None:
    await client.post(
        "/threads", json={"thread_id": "t1", "metadata": {"a": 1, "b": 2}}, headers=alice.headers
    )
    response = await client.patch(
        "/threads/t1", json={"title": "Renamed", "metadata": {"b": None, "c": 3}}, headers=alice.headers
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["metadata"]) == ("Renamed", {"a": 1, "c": 3})
    minimal = await client.patch(
        "/threads/t1", json={"title": "Again"}, headers={**alice.headers, "Prefer": "return=minimal"}
    )
    assert minimal.status_code == 204 and minimal.content == b""


async def test_patch_with_wrong_types_is_422_and_changes_nothing(client, alice) -> None:
    await client.post("/threads", json={"thread_id": "t1", "title": "Keep"}, headers=alice.headers)
    response = await client.patch("/threads/t1", json={"metadata": [1, 2]}, headers=alice.headers)
    assert response.status_code == 422
    assert (await client.get("/threads/t1", headers=alice.headers)).json()["title"] == "Keep"


async def test_delete_removes_thread_and_memory(client, web_desk, alice) -> None:
    await web_desk.send("t1", "Hi, I'm Alice.", user_id="alice", create=True)
    assert (await client.delete("/threads/t1", headers=alice.headers)).status_code == 204
    assert (await client.get("/threads/t1", headers=alice.headers)).status_code == 404
    assert (await client.delete("/threads/t1", headers=alice.headers)).status_code == 404
    state = await web_desk.agent.aget_state({"configurable": {"thread_id": "t1"}})
    assert state.values == {}


async def test_list_filters_and_paginates(client, web_desk, alice, clock) -> None:
    for n in range(5):
        await client.post(
            "/threads", json={"thread_id": f"t{n}", "metadata": {"even": n % 2 == 0}}, headers=alice.headers
        )
        clock.advance(timedelta(hours=1))
    page = (await client.get("/threads", params={"limit": 2}, headers=alice.headers)).json()
    assert [t["thread_id"] for t in page["threads"]] == ["t4", "t3"]
    rest = await client.get(
        "/threads", params={"limit": 2, "cursor": page["next_cursor"]}, headers=alice.headers
    )
    assert [t["thread_id"] for t in rest.json()["threads"]] == ["t2", "t1"]

    even = await client.get(
        "/threads", params={"metadata": json.dumps({"even": True})}, headers=alice.headers
    )
    assert [t["thread_id"] for t in even.json()["threads"]] == ["t4", "t2", "t0"]
    idle = await client.get("/threads", params={"idle_for": "3h"}, headers=alice.headers)
    assert [t["thread_id"] for t in idle.json()["threads"]] == ["t1", "t0"]
    errored = await client.get("/threads", params={"status": "error"}, headers=alice.headers)
    assert errored.json() == {"threads": [], "next_cursor": None}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "sleepy"},
        {"metadata": "{not json"},
        {"metadata": "[1]"},
        {"idle_for": "soon"},
        {"limit": 0},
        {"limit": "ten"},
        {"cursor": "!!!"},
    ],
)
async def test_list_rejects_bad_filters_with_422(client, alice, params) -> None:
    response = await client.get("/threads", params=params, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]) == {"code", "message"}


async def test_cleanup_dry_run_then_real(client, web_desk, alice, admin, clock) -> None:
    await client.post("/threads", json={"thread_id": "old"}, headers=alice.headers)
    clock.advance(timedelta(days=10))
    await client.post("/threads", json={"thread_id": "new"}, headers=alice.headers)
    dry = await client.post("/admin/cleanup", json={"idle_for": "7d", "dry_run": True}, headers=admin.headers)
    assert dry.json()["count"] == 1 and dry.json()["dry_run"] is True
    assert (await client.get("/threads/old", headers=alice.headers)).status_code == 200
    real = await client.post("/admin/cleanup", json={"idle_for": "7d"}, headers=admin.headers)
    assert [t["thread_id"] for t in real.json()["threads"]] == ["old"]
    assert (await client.get("/threads/old", headers=alice.headers)).status_code == 404
    bad = await client.post("/admin/cleanup", json={"idle_for": "forever"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_duration"


async def test_unknown_route_and_method_use_the_error_shape(client, alice) -> None:
    missing = await client.get("/nowhere", headers=alice.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await client.put("/threads", headers=alice.headers)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


async def test_readyz_is_503_when_storage_is_gone(tmp_path, alice) -> None:
    from threaddesk import open_desk

    settings = Settings(database_url=str(tmp_path / "gone.sqlite"))
    async with open_desk(settings) as desk:
        app = create_app(settings, desk=desk)
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["error"]["code"] == "storage_unavailable"


async def test_trusted_header_is_ignored_unless_configured(client, alice) -> None:
    response = await client.get("/threads", headers={"X-Forwarded-User": "alice"})
    assert response.status_code == 401


async def test_trusted_header_identifies_the_user_when_configured(web_desk: SupportDesk, alice) -> None:
    import httpx

    settings = Settings(database_url="memory", trusted_user_header="X-Forwarded-User")
    app = create_app(settings, desk=web_desk)
    await web_desk.threads.create("alice", "alice-t")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        as_alice = await client.get("/threads", headers={"X-Forwarded-User": "alice"})
        as_carol = await client.get("/threads", headers={"X-Forwarded-User": "carol"})
        bad = await client.get("/threads", headers={"X-Forwarded-User": "no such\tname"})
        cleanup = await client.post(
            "/admin/cleanup", json={"idle_for": "1d"}, headers={"X-Forwarded-User": "alice"}
        )
    assert [t["thread_id"] for t in as_alice.json()["threads"]] == ["alice-t"]
    assert as_carol.json()["threads"] == []
    assert bad.status_code == 401
    assert cleanup.status_code == 403


async def test_openapi_documents_every_route(client) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert {
        "/threads",
        "/threads/{thread_id}",
        "/threads/{thread_id}/messages",
        "/threads/search",
        "/threads/{thread_id}/state",
        "/threads/{thread_id}/runs/wait",
        "/threads/{thread_id}/runs/stream",
        "/assistants/search",
        "/admin/cleanup",
        "/healthz",
        "/readyz",
        "/me",
    } <= set(schema["paths"])
    assert "ThreadCreate" in schema["components"]["schemas"]
    assert (await client.get("/docs")).status_code == 200
