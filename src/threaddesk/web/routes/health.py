"""Liveness and readiness probes (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter

from threaddesk.web.deps import DeskDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Storage unreachable"}})
async def readyz(desk: DeskDep) -> dict[str, str]:
    """Storage answers a query (a `StorageUnavailable` becomes a 503)."""
    await desk.threads.registry.count()
    return {"status": "ready"}
