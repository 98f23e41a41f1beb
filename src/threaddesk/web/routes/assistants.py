"""The one assistant (the support agent), as `langgraph-sdk`'s assistants.search/get see it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threaddesk.web import compat
from threaddesk.web.deps import CurrentUser
from threaddesk.web.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/assistants", tags=["langgraph"], responses=ERROR_RESPONSES)


@router.post("/search")
async def search_assistants(body: compat.AssistantSearch, user: CurrentUser) -> list[dict[str, Any]]:
    return compat.search_assistants(body)


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, user: CurrentUser) -> dict[str, Any]:
    compat.check_assistant(assistant_id)
    return compat.assistant()
