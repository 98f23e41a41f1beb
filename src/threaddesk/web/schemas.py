"""Request and response bodies of the native API.

`ThreadPublic` is also LangGraph's Thread shape (`thread_id`, `created_at`,
`updated_at`, `metadata`, `status`, `values`, `interrupts`) with threaddesk's
own fields beside it, so one `/threads` serves both the native API and
`langgraph-sdk`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from threaddesk.ids import MAX_THREAD_ID_LENGTH
from threaddesk.service import ChatMessage
from threaddesk.threads.manager import MAX_TITLE_LENGTH
from threaddesk.threads.models import Thread, ThreadStatus
from threaddesk.users import User
from threaddesk.values import MAX_METADATA_BYTES, MAX_METADATA_DEPTH

MultitaskStrategy = Literal["enqueue", "reject"]

# What the core enforces, stated in the OpenAPI schema for clients (and schemathesis). Documentation
# only: the core stays the one place that checks, so every surface gets the same error codes.
THREAD_ID_SCHEMA: JsonDict = {"pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", "maxLength": MAX_THREAD_ID_LENGTH}
TITLE_SCHEMA: JsonDict = {"pattern": r"^[^\x00]*$", "maxLength": MAX_TITLE_LENGTH}
# Not blank (Python's str.isspace() whitespace, spelled out), no NUL.
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
CONTENT_SCHEMA: JsonDict = {"pattern": rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"}
DURATION_SCHEMA: JsonDict = {"pattern": r"^(?!0+[smhdw]$)[0-9]{1,9}[smhdw]$"}
METADATA_DESCRIPTION = (
    f"A JSON object: no NUL characters, nested at most {MAX_METADATA_DEPTH} levels,"
    f" at most {MAX_METADATA_BYTES} bytes as JSON."
)


class _Strict(BaseModel):
    """Request bodies: wrong types are refused, not coerced; unknown keys are ignored."""

    model_config = ConfigDict(strict=True)


class ThreadCreate(_Strict):
    thread_id: str | None = Field(
        default=None,
        description="Choose the id (else a UUID4 is generated).",
        json_schema_extra=THREAD_ID_SCHEMA,
    )
    title: str | None = Field(default=None, json_schema_extra=TITLE_SCHEMA)
    metadata: dict[str, Any] | None = Field(default=None, description=METADATA_DESCRIPTION)
    if_exists: Literal["raise", "do_nothing"] = Field(
        default="raise",
        description="If the id is taken: 'raise' (409) or 'do_nothing' (return your existing thread).",
    )


class ThreadUpdate(_Strict):
    title: str | None = Field(default=None, json_schema_extra=TITLE_SCHEMA)
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Merged into the current metadata (null removes a key). " + METADATA_DESCRIPTION,
    )


class ThreadPublic(BaseModel):
    thread_id: str
    user_id: str
    title: str | None
    metadata: dict[str, Any]
    status: ThreadStatus = Field(
        description="idle, busy (a turn is running) or error (the last turn failed)."
    )
    created_at: datetime
    updated_at: datetime = Field(description="Last activity (LangGraph's name for last_active_at).")
    last_active_at: datetime
    state_updated_at: datetime = Field(description="When the state last changed (LangGraph's field).")
    message_count: int
    config: dict[str, Any] = Field(default_factory=dict, description="LangGraph's thread config (none).")
    values: dict[str, Any] | None = Field(
        default=None,
        description="LangGraph state values; filled by GET /threads/{id} and POST /threads/search.",
    )
    interrupts: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(
        cls,
        thread: Thread,
        *,
        values: dict[str, Any] | None = None,
        interrupts: dict[str, Any] | None = None,
    ) -> ThreadPublic:
        return cls(
            interrupts=interrupts or {},
            thread_id=thread.thread_id,
            user_id=thread.user_id,
            title=thread.title,
            metadata=thread.metadata,
            status=thread.status,
            created_at=thread.created_at,
            updated_at=thread.last_active_at,
            last_active_at=thread.last_active_at,
            state_updated_at=thread.last_active_at,
            message_count=thread.message_count,
            values=values,
        )


class ThreadList(BaseModel):
    threads: list[ThreadPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class MessageCreate(_Strict):
    content: str = Field(
        description="The customer's message (not blank, no NUL, UTF-8, at most max_message_bytes).",
        json_schema_extra=CONTENT_SCHEMA,
    )
    multitask_strategy: MultitaskStrategy = Field(
        default="enqueue",
        description="If a turn is running on the thread: 'enqueue' (wait for it) or 'reject' (409).",
    )


class MessagePublic(BaseModel):
    role: str
    content: str
    id: str | None
    author: str | None = Field(
        default=None, description="The human agent who wrote this assistant message (a handoff's reply)."
    )

    @classmethod
    def of(cls, message: ChatMessage) -> MessagePublic:
        return cls(role=message.role, content=message.content, id=message.id, author=message.author)


class MessageList(BaseModel):
    messages: list[MessagePublic]


class ReplyPublic(BaseModel):
    thread: ThreadPublic
    message: MessagePublic


class CleanupRequest(_Strict):
    idle_for: str = Field(
        description="Remove threads idle longer than this: 90s, 15m, 12h, 7d, 2w (at most 100 years).",
        json_schema_extra=DURATION_SCHEMA,
    )
    dry_run: bool = False


class CleanupResult(BaseModel):
    dry_run: bool
    count: int
    threads: list[ThreadPublic]


class UserPublic(BaseModel):
    name: str
    is_admin: bool
    role: str = Field(description="customer, agent (answers handed-over threads) or admin")

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(name=user.name, is_admin=user.is_admin, role=str(user.role))


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Unparseable body (not UTF-8, nested too deeply) or a bad Content-Length",
        401: "Missing or invalid token",
        404: "No such thread (or not yours)",
        413: "Request body over THREADDESK_MAX_REQUEST_BYTES",
        422: "Malformed request",
    }.items()
}
