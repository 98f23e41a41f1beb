"""Every error leaves as `{"error": {"code", "message"}}` with the status it deserves.

The core raises `ThreadDeskError`s without knowing about HTTP; this is the one
place that maps them to statuses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from threaddesk.errors import (
    AssistantExists,
    AssistantNotFound,
    CheckpointNotFound,
    GraphNotFound,
    InternalError,
    InvalidArgument,
    ItemNotFound,
    LimitExceeded,
    MessageTooLarge,
    ModelUnavailable,
    NotAllowed,
    NotInterrupted,
    RunInProgress,
    RunNotFound,
    StorageUnavailable,
    SystemAssistant,
    ThreadBusy,
    ThreadDeskError,
    ThreadExists,
    ThreadNotFound,
    UserExists,
    UserNotFound,
)

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: list[tuple[type[ThreadDeskError], int]] = [
    (MessageTooLarge, 413),
    (InvalidArgument, 422),
    (ThreadNotFound, 404),
    (CheckpointNotFound, 404),
    (RunNotFound, 404),
    (GraphNotFound, 404),
    (ItemNotFound, 404),
    (AssistantNotFound, 404),
    (GraphNotFound, 404),
    (AssistantExists, 409),
    (SystemAssistant, 409),
    (RunInProgress, 409),
    (UserNotFound, 404),
    (ThreadExists, 409),
    (UserExists, 409),
    (ThreadBusy, 409),
    (NotInterrupted, 409),
    (NotAllowed, 403),
    (LimitExceeded, 429),
    (StorageUnavailable, 503),
    (ModelUnavailable, 503),
    (InternalError, 500),
]

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class APIError(HTTPException):
    """An HTTP error raised by the web layer itself, with a machine-readable code."""

    def __init__(self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(status_code, message, headers)
        self.code = code


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def status_of(exc: ThreadDeskError) -> int:
    return next((status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls)), 400)


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
    if error.get("type") == "model_attributes_type" and tuple(error.get("loc", ())) == ("body",):
        return "the request body must be a JSON object"
    if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",):
        return "a JSON request body is required"
    if error.get("type") == "json_invalid":
        return f"malformed JSON: {error.get('ctx', {}).get('error', 'cannot parse the body')}"
    return f"{where}: {error.get('msg', 'invalid value')}"


def retry_headers(exc: ThreadDeskError) -> dict[str, str] | None:
    """`Retry-After` (whole seconds, rounded up) for a limit that waiting will lift."""
    retry_after = getattr(exc, "retry_after", None)
    return None if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}


async def _core_error(request: Request, exc: ThreadDeskError) -> JSONResponse:
    return error_response(status_of(exc), exc.code, str(exc), retry_headers(exc))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    messages = [_describe(error) for error in exc.errors()]
    return error_response(422, "invalid_request", "; ".join(messages) or "invalid request")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code = getattr(exc, "code", None) or CODE_BY_STATUS.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, code, message, exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types a handler as taking any Exception, though it only ever passes the registered class.
    app.add_exception_handler(ThreadDeskError, _core_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
