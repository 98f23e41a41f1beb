"""The FastAPI application: `create_app()` builds it; its lifespan opens the desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from threaddesk import __version__
from threaddesk.config import Settings
from threaddesk.service import SupportDesk, open_desk
from threaddesk.web.errors import install_error_handlers
from threaddesk.web.limits import BodySizeLimit
from threaddesk.web.routes import ROUTERS
from threaddesk.web.routes.page import STATIC_DIR

DESCRIPTION = """\
The threaddesk support agent over HTTP. Authenticate every request with
`Authorization: Bearer <token>` or `X-Api-Key: <token>`. Errors are
`{"error": {"code", "message"}}`. Routes tagged *langgraph* speak LangGraph's
dialect, for `langgraph-sdk` clients.
"""


def create_app(settings: Settings | None = None, desk: SupportDesk | None = None) -> FastAPI:
    """Build the app. With `desk`, serve that one (the caller closes it); else open one at startup."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if desk is not None:
            yield
            return
        async with open_desk(settings) as opened:
            app.state.desk = opened
            yield

    app = FastAPI(title="threaddesk", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.desk = desk
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    _add_cors(app, settings)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


# What a browser page on another origin needs: the token headers, JSON bodies, resuming a stream by
# `Last-Event-ID`, and reading `Content-Location` (where a run's id is) and the search pagination
# headers (as LangGraph's server exposes them) from a response.
CORS_ALLOW_HEADERS = ["Authorization", "X-Api-Key", "Content-Type", "Last-Event-ID"]
CORS_EXPOSE_HEADERS = ["Content-Location", "X-Pagination-Total", "X-Pagination-Next"]


def _add_cors(app: FastAPI, settings: Settings) -> None:
    """CORS for `THREADDESK_CORS_ORIGINS`, outermost, so preflights and every error answer carry it.

    Without credentials: threaddesk's tokens are headers a page sets itself, so
    no browser ever sends a cookie of ours cross-origin (no CSRF through CORS).
    """
    origins = settings.cors_origin_list()
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials=False,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
    )
