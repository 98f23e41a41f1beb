"""Refuse oversized request bodies before they are read into memory."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threaddesk.web.errors import APIError, error_response

# A body of 10**18 bytes is already absurd; longer digit strings are refused before `int()` reads them.
MAX_LENGTH_DIGITS = 18


def _too_large(limit: int) -> APIError:
    return APIError(413, "request_too_large", f"request body exceeds the limit of {limit} bytes")


class BodySizeLimit:
    """ASGI middleware: 413 for a body over `limit` bytes.

    A declared `Content-Length` over the limit is answered at once, unread; a
    body without one (chunked) is counted as it streams in and cut off at the
    limit, so no request can make the server buffer more than `limit` bytes.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and not (length.isdigit() and len(length) <= MAX_LENGTH_DIGITS):
            await error_response(400, "bad_request", "invalid Content-Length header")(scope, receive, send)
            return
        if length is not None and int(length) > self.limit:
            too_large = _too_large(self.limit)
            response = error_response(413, too_large.code, str(too_large.detail), {"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the app, so the error handlers turn it into a 413.
                    raise _too_large(self.limit)
            return message

        await self.app(scope, counting_receive, send)
