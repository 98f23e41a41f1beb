"""Security headers on every response: no framing, no sniffing, no referrer, a strict CSP.

The chat page and the API load only the server's own files (`/static`, no
inline script or style), so one strict policy covers them. The API docs
(Swagger UI, ReDoc, served from local files) are HTML pages with an inline
start-up script: their policy allows exactly that script by its SHA-256 hash,
computed from the page as sent, plus the inline styles ReDoc injects.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_csp(html: bytes) -> str:
    """The policy of a docs page: its own inline scripts allowed by hash, nothing else inline."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return _DOCS_CSP.format(hashes=hashes or "'none'").replace("'self' 'none'", "'self'")


# Every response's security headers as raw (name, value) pairs, lower-case as ASGI servers send them.
_STRICT_RAW = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in {**HEADERS, "Content-Security-Policy": STRICT_CSP}.items()
]
_STRICT_NAMES = frozenset(name for name, _ in _STRICT_RAW)


def _set_strict_headers(message: Message) -> None:
    """`_STRICT_RAW` onto a response start, replacing any of them the app set itself.

    On every response, so the common case (the app set none of them) appends a
    prepared list rather than looking each name up and rewriting the list.
    """
    headers = list(message.get("headers", ()))
    if any(name.lower() in _STRICT_NAMES for name, _ in headers):
        headers = [(name, value) for name, value in headers if name.lower() not in _STRICT_NAMES]
    headers.extend(_STRICT_RAW)
    message["headers"] = headers


class SecurityHeaders:
    """ASGI middleware: `HEADERS` and a CSP on every HTTP response (`docs_paths` get `docs_csp`)."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _set_strict_headers(message)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the (small) page back until its inline scripts are hashed into its policy."""
        start: Message | None = None
        body = b""

        async def buffer(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            body += message.get("body", b"")
            if message.get("more_body", False) or start is None:
                return
            headers = MutableHeaders(scope=start)
            headers.update(HEADERS)
            headers["Content-Security-Policy"] = docs_csp(body)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffer)
