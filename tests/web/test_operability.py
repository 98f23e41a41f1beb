"""What an operator sees: /metrics that move with turns and errors, request ids, security headers,
API docs that work offline, and an OpenTelemetry span per turn when tracing is on."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.models import FlakyModel, GatedModel

from threaddesk import Settings, SupportDesk, open_desk
from threaddesk.web import create_app


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _turns(samples, outcome: str) -> float:
    return samples[("threaddesk_turns_total", (("backend", "sqlite"), ("outcome", outcome)))]


# --- security headers and offline docs ---------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/threads", "/threads/nope", "/static/app.js", "/healthz", "/openapi.json"]
)
async def test_every_response_forbids_framing_and_sniffing(
    client: httpx.AsyncClient, alice, path: str
) -> None:
    response = await client.get(path, headers=alice.headers)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp and "style-src 'self';" in csp  # no inline script or style at all


async def test_the_chat_page_loads_only_its_own_files(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assert "<script>" not in page and "<style" not in page and " style=" not in page
    assert re.findall(r'(?:src|href)="([^"]+)"', page) == ["/static/style.css", "/static/app.js"]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_api_docs_are_served_from_local_files(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(asset.startswith("/") for asset in assets), assets  # nothing from a CDN
    assert "https://" not in page.text
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
    csp = page.headers["content-security-policy"]
    assert (
        "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    )
    for script in re.findall(r"<script>(.*?)</script>", page.text, re.S):  # allowed by its hash only
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


# --- request ids ---------------------------------------------------------------------------------


async def test_each_response_carries_a_request_id(client: httpx.AsyncClient, alice) -> None:
    first = await client.get("/threads", headers=alice.headers)
    second = await client.get("/threads/nope", headers=alice.headers)
    unauthorized = await client.get("/threads")
    ids = [r.headers["x-request-id"] for r in (first, second, unauthorized)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)
    assert len(set(ids)) == 3


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("lb-7f3a.42:1", True), ("0af7651916cd43dd8448eb211c80319c", True), ("x" * 200, False), ("a b", False)],
)
async def test_a_sane_incoming_request_id_is_kept(
    client: httpx.AsyncClient, alice, sent: str, kept: bool
) -> None:
    response = await client.get("/threads", headers={**alice.headers, "X-Request-Id": sent})
    assert (response.headers["x-request-id"] == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", response.headers["x-request-id"])


# --- /metrics ------------------------------------------------------------------------------------


async def test_metrics_are_for_admins_and_the_metrics_token(web_desk: SupportDesk, alice, admin) -> None:
    settings = Settings(database_url="memory", metrics_token="scrape-me-0123456789")
    app = create_app(settings, desk=web_desk)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=alice.headers)).status_code == 403
        assert (await client.get("/metrics", headers={"X-Api-Key": "wrong"})).status_code == 401
        for headers in (admin.headers, {"Authorization": "Bearer scrape-me-0123456789"}):
            response = await client.get("/metrics", headers=headers)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
        # The metrics token opens nothing else.
        assert (
            await client.get("/threads", headers={"X-Api-Key": "scrape-me-0123456789"})
        ).status_code == 401


@pytest.fixture
def flaky() -> FlakyModel:
    return FlakyModel()


@pytest.fixture
async def flaky_client(flaky: FlakyModel) -> AsyncIterator[tuple[httpx.AsyncClient, SupportDesk, dict]]:
    async with open_desk(Settings(database_url="memory"), model=flaky) as desk:
        _, token = await desk.users.add("root", admin=True)
        app = create_app(Settings(database_url="memory"), desk=desk)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, desk, {"Authorization": f"Bearer {token}"}


async def test_turn_figures_move_with_turns_and_errors(flaky_client, flaky: FlakyModel) -> None:
    client, desk, headers = flaky_client

    async def scrape() -> dict:
        return _samples((await client.get("/metrics", headers=headers)).text)

    before = await scrape()
    assert _turns(before, "ok") == 0
    for _ in range(3):
        response = await client.post(
            "/threads/t1/messages", json={"content": "Hi, I'm Ann."}, headers=headers
        )
        assert response.status_code in (200, 404)
        if response.status_code == 404:
            await desk.threads.create("root", "t1")
    after = await scrape()
    assert _turns(after, "ok") == 2 and _turns(after, "refused") == 1
    count = ("threaddesk_turn_duration_seconds_count", (("backend", "sqlite"), ("outcome", "ok")))
    assert after[count] == 2

    flaky.fail = True
    assert (
        await client.post("/threads/t1/messages", json={"content": "x"}, headers=headers)
    ).status_code == 503
    failed = await scrape()
    assert _turns(failed, "model_error") == 1
    assert failed[("threaddesk_errors_total", (("kind", "model"),))] == 1
    assert failed[("threaddesk_errors_total", (("kind", "storage"),))] == 0

    await desk.threads.create("root", "old")
    response = await client.post("/admin/cleanup", json={"idle_for": "1s"}, headers=headers)
    assert response.status_code == 200  # nothing idle that long yet
    desk.threads.clock = lambda: datetime.now(UTC) + timedelta(days=2)
    removed = (await client.post("/admin/cleanup", json={"idle_for": "1d"}, headers=headers)).json()["count"]
    assert removed == 2
    assert (await scrape())[("threaddesk_cleanup_removed_threads_total", ())] == 2


async def test_queued_running_and_busy_figures_follow_a_held_thread() -> None:
    model = GatedModel(pause_at=frozenset({0}))
    async with open_desk(Settings(database_url="memory"), model=model) as desk:
        _, token = await desk.users.add("root", admin=True)
        app = create_app(Settings(database_url="memory"), desk=desk)
        headers = {"Authorization": f"Bearer {token}"}
        await desk.threads.create("root", "t1")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

            async def gauges() -> tuple[float, float, float]:
                samples = _samples((await client.get("/metrics", headers=headers)).text)
                return tuple(
                    samples[(name, ())]
                    for name in (
                        "threaddesk_turns_running",
                        "threaddesk_turns_queued",
                        "threaddesk_busy_threads",
                    )
                )

            async def stream(text: str) -> None:
                async for _ in desk.stream("t1", text):  # streamed, so the model stops at its gate
                    pass

            first = asyncio.create_task(stream("Hi, I'm Ann."))
            await asyncio.wait_for(model.paused(), 10)
            second = asyncio.create_task(stream("Who am I?"))
            await asyncio.sleep(0.05)
            assert await gauges() == (1, 1, 1)
            model.pause_at = frozenset()
            model.release()
            await asyncio.gather(first, second)
            assert await gauges() == (0, 0, 0)


# --- tracing -------------------------------------------------------------------------------------


async def test_tracing_records_a_span_per_turn_with_its_outcome(flaky: FlakyModel) -> None:
    sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the OpenTelemetry SDK (dev extra)")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exported = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    async with open_desk(Settings(database_url="memory", tracing=True), model=flaky) as desk:
        assert desk.tracer is not None
        desk.tracer = provider.get_tracer("threaddesk")  # a local provider, not the process-wide one
        await desk.send("t1", "Hi, I'm Ann.", user_id="ann", create=True)
        flaky.fail = True
        with pytest.raises(Exception, match="model failed"):
            await desk.send("t1", "And now?", user_id="ann")
    spans = exported.get_finished_spans()
    assert [span.name for span in spans] == ["threaddesk.turn"] * 2
    assert [span.attributes["threaddesk.outcome"] for span in spans] == ["ok", "model_error"]
    assert spans[0].attributes["threaddesk.thread_id"] == "t1"
    assert spans[1].status.status_code.name == "ERROR"


async def test_tracing_is_off_by_default() -> None:
    async with open_desk(Settings(database_url="memory")) as desk:
        assert desk.tracer is None
