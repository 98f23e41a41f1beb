"""Admin-only maintenance."""

from __future__ import annotations

from fastapi import APIRouter

from threaddesk.web.deps import AdminUser, DeskDep
from threaddesk.web.presenters import present_thread
from threaddesk.web.schemas import ERROR_RESPONSES, CleanupRequest, CleanupResult

router = APIRouter(prefix="/admin", tags=["admin"], responses=ERROR_RESPONSES)


@router.post("/cleanup", response_model=CleanupResult, responses={403: {"description": "Not an admin"}})
async def cleanup(body: CleanupRequest, admin: AdminUser, desk: DeskDep) -> CleanupResult:
    """Delete every thread idle longer than `idle_for` (or, with `dry_run`, list them)."""
    removed = await desk.cleanup(body.idle_for, dry_run=body.dry_run)
    return CleanupResult(
        dry_run=body.dry_run, count=len(removed), threads=[present_thread(desk, t) for t in removed]
    )
