"""`GET /info`, `GET /ok` and CORS (`THREADDESK_CORS_ORIGINS`) as a browser on another origin meets them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from threaddesk import Settings, SupportDesk
from threaddesk.web import create_app

ORIGIN = "http://ui.example"


async def test_info_and_ok_need_no_token(client: httpx.AsyncClient) -> None:
    info = await client.get("/info")
    assert info.status_code == 200
    assert info.json()["flags"]["assistants"] is True
    assert set(info.json()) == {"version", "langgraph_py_version", "flags", "host"}
    ok = await client.get("/ok")
    assert ok.json() == {"ok": True, "services": {}}
    checked = await client.get("/ok", params={"check_db": 1})
    assert checked.json() == {"ok": True, "services": {"database": "healthy"}}
    assert (await client.get("/ok", params={"check_db": 2})).status_code == 422


async def test_ok_with_check_db_reports_a_dead_database(client: httpx.AsyncClient, web_desk) -> None:
    async def dead() -> None:
        raise OSError("database gone")

    web_desk.threads.registry.ping = dead
    response = await client.get("/ok", params={"check_db": 1})
    assert (response.status_code, response.json()) == (
        500,
        {"ok": False, "services": {"database": "unhealthy"}},
    )
    assert (await client.get("/ok")).status_code == 200


async def test_cors_is_off_by_default(client: httpx.AsyncClient, alice) -> None:
    preflight = await client.options(
        "/threads/search", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 405
    response = await client.post("/threads/search", json={}, headers={**alice.headers, "Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
async def cors_client(settings: Settings, web_desk: SupportDesk) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"cors_origins": f"{ORIGIN}, http://other.example"}), web_desk
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.test") as client:
        yield client


async def test_preflight_allows_the_token_headers_for_a_listed_origin(cors_client: httpx.AsyncClient) -> None:
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-api-key, content-type, last-event-id",
    }
    preflight = await cors_client.options("/threads/abc/runs/stream", headers=headers)
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "x-api-key", "content-type", "last-event-id"):
        assert header in allowed
    assert "access-control-allow-credentials" not in preflight.headers
    unlisted = await cors_client.options("/threads", headers={**headers, "Origin": "http://evil.example"})
    assert unlisted.status_code == 400
    assert "access-control-allow-origin" not in unlisted.headers


async def test_cross_origin_answers_expose_content_location(cors_client: httpx.AsyncClient, alice) -> None:
    headers = {**alice.headers, "Origin": ORIGIN}
    thread = (await cors_client.post("/threads", json={}, headers=headers)).json()["thread_id"]
    run = {"assistant_id": "support_agent", "input": {"messages": [{"role": "user", "content": "hi"}]}}
    response = await cors_client.post(f"/threads/{thread}/runs/wait", json=run, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = response.headers["access-control-expose-headers"]
    assert exposed == "Content-Location, X-Pagination-Total, X-Pagination-Next"
    assert response.headers["content-location"].startswith(f"/threads/{thread}/runs/")
    refused = await cors_client.get("/threads/missing-one", headers=headers)  # errors carry CORS too
    assert refused.status_code == 404
    assert refused.headers["access-control-allow-origin"] == ORIGIN


async def test_a_text_plain_json_body_from_a_server_is_read_as_json(client, alice) -> None:
    """What agent-chat-ui's API passthrough sends (fetch labels a string body text/plain)."""
    body = b'{"thread_id": "plain-1", "metadata": {"via": "proxy"}}'
    headers = {**alice.headers, "Content-Type": "text/plain;charset=UTF-8"}
    created = await client.post("/threads", content=body, headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["metadata"] == {"via": "proxy"}
    # From a browser (Origin set), a text/plain POST is a CORS simple request: still refused.
    foreign = await client.post(
        "/threads",
        content=body.replace(b"plain-1", b"plain-2"),
        headers={**headers, "Origin": "https://x.test"},
    )
    assert foreign.status_code == 422
    assert (await client.get("/threads/plain-2", headers=alice.headers)).status_code == 404
