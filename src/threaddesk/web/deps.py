"""Typed dependencies: the desk, the settings, and who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from threaddesk.config import Settings
from threaddesk.service import SupportDesk
from threaddesk.users import User
from threaddesk.web.auth import authenticate, authenticate_custom
from threaddesk.web.errors import APIError
from threaddesk.web.schemas import THREAD_ID_SCHEMA


# `async def`, though they await nothing: FastAPI runs a plain `def` dependency on a worker thread,
# a hand-off per request that costs far more than reading an attribute.
async def get_desk(request: Request) -> SupportDesk:
    return request.app.state.desk


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


# Checked by the core (422 invalid_thread_id), documented here.
ThreadIdPath = Annotated[str, Path(description="The thread id", json_schema_extra=THREAD_ID_SCHEMA)]
DeskDep = Annotated[SupportDesk, Depends(get_desk)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_current_user(request: Request) -> User:
    # The desk and settings read here, not as sub-dependencies: each dependency FastAPI solves costs
    # a request ~10 us, and every authenticated request goes through this one.
    state = request.app.state
    desk: SupportDesk = state.desk
    trusted_header = state.settings.trusted_user_header
    custom = getattr(state, "custom_auth", None)
    if custom is not None:
        return await authenticate_custom(request, custom, desk, trusted_header)
    return await authenticate(request, desk.users, trusted_header)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise APIError(403, "forbidden", "this route needs an admin token")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


def owner_scope(user: User) -> str | None:
    """The `user_id` to pass to the core: an admin reaches every thread (None), a user only theirs."""
    return None if user.is_admin else user.name


def read_scope(user: User) -> str | None:
    """The `user_id` for routes that only read a thread: a human agent (agent or admin) reads every
    thread, to answer handed-over ones; a customer only theirs. Writes keep `owner_scope`, so an
    agent never writes into a customer's thread as them (it is a 404 there, as for anyone else)."""
    return None if user.is_agent else user.name
