"""The FastAPI application: `create_app()` builds it; its lifespan opens the desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
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
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
