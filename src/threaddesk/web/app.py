"""The FastAPI application: `create_app()` builds it; its lifespan opens the desk."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from threaddesk import __version__
from threaddesk.config import Settings
from threaddesk.service import SupportDesk, open_desk
from threaddesk.web.content_type import PlainTextJson
from threaddesk.web.custom_auth import CustomAuth
from threaddesk.web.errors import install_error_handlers
from threaddesk.web.headers import SecurityHeaders
from threaddesk.web.langgraph_events import StreamEncoder
from threaddesk.web.limits import BodySizeLimit
from threaddesk.web.metrics import observe
from threaddesk.web.metrics import router as metrics_router
from threaddesk.web.routes import ROUTERS
from threaddesk.web.routes.page import STATIC_DIR

DESCRIPTION = """\
The threaddesk support agent over HTTP. Authenticate every request with
`Authorization: Bearer <token>` or `X-Api-Key: <token>`. Errors are
`{"error": {"code", "message"}}`. Routes tagged *langgraph* speak LangGraph's
dialect, for `langgraph-sdk` clients.
"""

REQUEST_ID_HEADER = "X-Request-Id"
# An incoming request id is kept if it looks like one (a proxy's or a client's); else a new one is made.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def _sane_request_id(value: str) -> bool:
    return _SANE_REQUEST_ID.fullmatch(value) is not None


def create_app(
    settings: Settings | None = None, desk: SupportDesk | None = None, auth: CustomAuth | None = None
) -> FastAPI:
    """Build the app. With `desk`, serve that one (the caller closes it); else open one at startup.

    `auth` (else `THREADDESK_AUTH_PATH`, loaded now so a broken file fails here) is a custom `Auth`.
    """
    settings = settings or Settings()
    if auth is None and settings.auth_path:
        auth = CustomAuth.load(settings.auth_path, Path.cwd())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if desk is not None:
            yield
            return
        async with open_desk(settings) as opened:
            observe(opened)
            opened.events.encoder = StreamEncoder
            app.state.desk = opened
            yield

    # Swagger UI and ReDoc from files shipped in the fastapi-offline package: /docs works offline.
    app = FastAPIOffline(title="threaddesk", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.desk = desk
    app.state.custom_auth = auth
    if desk is not None:
        observe(desk)
        desk.events.encoder = StreamEncoder  # runs' streams as LangGraph's joiners read them
    install_error_handlers(app)
    app.add_middleware(PlainTextJson)
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders, docs_paths=DOCS_PATHS)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=REQUEST_ID_HEADER,
        generator=lambda: uuid.uuid4().hex,
        validator=_sane_request_id,
    )
    _add_cors(app, settings)  # outermost: preflights and every answer carry CORS
    for router in [*ROUTERS, metrics_router]:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def create_served_app() -> FastAPI:
    """The app each `threaddesk serve --workers N` process serves: `create_app()`, settings from the
    environment, with the objects alive after startup hidden from the garbage collector
    (`freeze_after_startup`: full collections under load stop walking them)."""
    from threaddesk.web.server import freeze_after_startup

    return freeze_after_startup(create_app())


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
