"""`/metrics` in Prometheus' text format: the desk's figures, fed by its observer hooks.

On the main port, for admins or the `metrics_token` (a scraper's token that
opens nothing else): one port to secure and to route, the same TLS and
authentication as the API, and no second listener per worker. Each process
has its own registry, so with `--workers N` a scrape sees the worker that
answers it; scrape each replica (one process each) for exact totals.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from threaddesk.metrics import DeskObserver, Outcome
from threaddesk.service import SupportDesk
from threaddesk.web.auth import authenticate, presented_token
from threaddesk.web.deps import DeskDep, SettingsDep
from threaddesk.web.errors import APIError
from threaddesk.web.server import OpenConnections

TURN_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, float("inf"))


class PrometheusObserver(DeskObserver):
    """The desk's hooks, counted into a registry of its own (one per app, so tests do not mix)."""

    def __init__(self, desk: SupportDesk) -> None:
        self.backend = desk.backend
        self.collectors = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.turns = Counter(
            "threaddesk_turns", "Turns ended, by outcome.", ["backend", "outcome"], registry=registry
        )
        self.turn_seconds = Histogram(
            "threaddesk_turn_duration_seconds",
            "Time from asking for a turn (queueing included) to its end.",
            ["backend", "outcome"],
            buckets=TURN_SECONDS_BUCKETS,
            registry=registry,
        )
        self.queued = Gauge(
            "threaddesk_turns_queued",
            "Turns waiting for their thread (another turn holds it).",
            registry=registry,
        )
        self.running = Gauge("threaddesk_turns_running", "Turns holding their thread.", registry=registry)
        self.errors = Counter(
            "threaddesk_errors", "Turns failed by the storage or the chat model.", ["kind"], registry=registry
        )
        self.cleanup = Counter(
            "threaddesk_cleanup_removed_threads", "Idle threads deleted by cleanup.", registry=registry
        )
        busy = Gauge("threaddesk_busy_threads", "Threads with a turn running or queued.", registry=registry)
        busy.set_function(lambda: len(desk.threads.locks))
        connections = Gauge(
            "threaddesk_open_connections", "Client HTTP connections this process holds.", registry=registry
        )
        connections.set_function(lambda: OpenConnections.count)
        for outcome in Outcome:  # every series exists from the start, at 0
            self.turns.labels(self.backend, outcome.value)
        for kind in ("storage", "model"):
            self.errors.labels(kind)

    def turn_queued(self) -> None:
        self.queued.inc()

    def turn_started(self) -> None:
        self.queued.dec()
        self.running.inc()

    def turn_ended(self, outcome: Outcome, seconds: float, *, started: bool) -> None:
        (self.running if started else self.queued).dec()
        self.turns.labels(self.backend, outcome.value).inc()
        self.turn_seconds.labels(self.backend, outcome.value).observe(seconds)
        if outcome is Outcome.STORAGE_ERROR:
            self.errors.labels("storage").inc()
        elif outcome is Outcome.MODEL_ERROR:
            self.errors.labels("model").inc()

    def cleanup_removed(self, count: int) -> None:
        self.cleanup.inc(count)


def observe(desk: SupportDesk) -> PrometheusObserver:
    """Attach a `PrometheusObserver` to the desk (once) and return it."""
    if not isinstance(desk.observer, PrometheusObserver):
        desk.observer = PrometheusObserver(desk)
    return desk.observer


async def _scraper(request: Request, desk: DeskDep, settings: SettingsDep) -> None:
    """The metrics token, or an admin's."""
    token = presented_token(request)
    expected = settings.metrics_token
    if token and expected and hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        return
    user = await authenticate(request, desk.users, settings.trusted_user_header)
    if not user.is_admin:
        raise APIError(403, "forbidden", "/metrics needs an admin token or the metrics token")


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(desk: DeskDep, _: Annotated[None, Depends(_scraper)]) -> Response:
    """The process's figures in Prometheus' text format (admin or metrics token)."""
    return Response(generate_latest(observe(desk).collectors), media_type=CONTENT_TYPE_LATEST)
