"""Liveness and readiness probes (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter

from threaddesk.web.deps import DeskDep
from threaddesk.web.errors import APIError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Storage unreachable"}})
async def readyz(desk: DeskDep) -> dict[str, str]:
    """Storage answers one cheap query; any failure to do so means not ready."""
    try:
        await desk.ready()
    except Exception as exc:
        raise APIError(503, "storage_unavailable", f"storage unreachable: {exc}") from exc
    return {"status": "ready"}
