"""JSON bodies that servers (not browsers) send as `text/plain` are read as JSON, as LangGraph reads them.

LangGraph's server parses a request body as JSON whatever its `Content-Type`;
some of its clients rely on that. agent-chat-ui's API passthrough (a Next.js
route that forwards the browser's calls with the server's key) re-sends each
body as a string with `fetch`, which labels it `text/plain;charset=UTF-8`, and
FastAPI would then refuse it (422 "must be a JSON object").

Only requests without an `Origin` header are relabelled. A browser sends
`Origin` with every cross-site POST, and a `text/plain` POST is a CORS "simple
request" that a foreign page may send without a preflight: keeping those
refused means a page elsewhere still cannot post JSON here behind a
cookie-based identity proxy (no cross-site request forgery through this door).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PlainTextJson:
    """ASGI middleware: `Content-Type: text/plain` without `Origin` becomes `application/json`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            headers = scope["headers"]
            content_type, has_origin = b"", False
            for name, value in headers:  # one pass: this runs on every POST
                if name == b"content-type":
                    content_type = value
                elif name == b"origin":
                    has_origin = True
            if not has_origin and content_type.split(b";")[0].strip().lower() == b"text/plain":
                relabelled = [(n, v) for n, v in headers if n != b"content-type"]
                scope = {**scope, "headers": [*relabelled, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
