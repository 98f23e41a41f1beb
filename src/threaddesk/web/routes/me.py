"""Who the token belongs to (the chat page's sign-in check)."""

from __future__ import annotations

from fastapi import APIRouter

from threaddesk.web.deps import CurrentUser
from threaddesk.web.schemas import ERROR_RESPONSES, UserPublic

router = APIRouter(tags=["users"], responses=ERROR_RESPONSES)


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser) -> UserPublic:
    return UserPublic.of(user)
