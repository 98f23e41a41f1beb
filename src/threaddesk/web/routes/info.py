"""LangGraph's server probes: `GET /info` (what this server is and can do) and `GET /ok` (it is up).

Front-ends built for LangGraph's server (agent-chat-ui, `useStream` apps) call
`/info` before anything else to check that the API URL answers; like LangGraph's,
both need no token and tell nothing about any user.
"""

from __future__ import annotations

from typing import Annotated, Any

import langgraph.version
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from threaddesk import __version__
from threaddesk.web.deps import DeskDep

router = APIRouter(tags=["langgraph"])


@router.get("/info")
async def info() -> dict[str, Any]:
    """The server's version and feature flags, in LangGraph's shape (`crons`: threaddesk has none)."""
    return {
        "version": __version__,
        "langgraph_py_version": langgraph.version.__version__,
        "flags": {
            "assistants": True,
            "crons": False,
            "langsmith": False,
            "langsmith_tracing_replicas": False,
            "langsmith_tracing_session_on_runs": False,
        },
        "host": {
            "kind": "threaddesk",
            "project_id": None,
            "host_revision_id": None,
            "revision_id": None,
            "tenant_id": None,
        },
    }


@router.get("/ok", responses={500: {"description": "`check_db=1` and the database did not answer"}})
async def ok(
    desk: DeskDep,
    check_db: Annotated[int, Query(ge=0, le=1, description="1: also run one query on the database")] = 0,
) -> JSONResponse:
    """`{"ok": true}` while the process answers; with `check_db=1`, only if the database does too."""
    if not check_db:
        return JSONResponse({"ok": True, "services": {}})
    try:
        await desk.ready()
    except Exception:
        return JSONResponse({"ok": False, "services": {"database": "unhealthy"}}, status_code=500)
    return JSONResponse({"ok": True, "services": {"database": "healthy"}})
