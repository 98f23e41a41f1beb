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

from threaddesk.service import ChatMessage
from threaddesk.threads.models import Thread, ThreadStatus
from threaddesk.users import User

MultitaskStrategy = Literal["enqueue", "reject"]


class _Strict(BaseModel):
    """Request bodies: wrong types are refused, not coerced; unknown keys are ignored."""

    model_config = ConfigDict(strict=True)


class ThreadCreate(_Strict):
    thread_id: str | None = Field(default=None, description="Choose the id (else a UUID4 is generated).")
    title: str | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = Field(
        default="raise",
        description="If the id is taken: 'raise' (409) or 'do_nothing' (return your existing thread).",
    )


class ThreadUpdate(_Strict):
    title: str | None = None
    metadata: dict[str, Any] | None = Field(
        default=None, description="Merged into the current metadata; a null value removes that key."
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
    message_count: int
    values: dict[str, Any] | None = Field(
        default=None, description="LangGraph state values; filled by GET /threads/{id} only."
    )
    interrupts: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, thread: Thread, *, values: dict[str, Any] | None = None) -> ThreadPublic:
        return cls(
            thread_id=thread.thread_id,
            user_id=thread.user_id,
            title=thread.title,
            metadata=thread.metadata,
            status=thread.status,
            created_at=thread.created_at,
            updated_at=thread.last_active_at,
            last_active_at=thread.last_active_at,
            message_count=thread.message_count,
            values=values,
        )


class ThreadList(BaseModel):
    threads: list[ThreadPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class MessageCreate(_Strict):
    content: str = Field(description="The customer's message (UTF-8, at most max_message_bytes).")
    multitask_strategy: MultitaskStrategy = Field(
        default="enqueue",
        description="If a turn is running on the thread: 'enqueue' (wait for it) or 'reject' (409).",
    )


class MessagePublic(BaseModel):
    role: str
    content: str
    id: str | None

    @classmethod
    def of(cls, message: ChatMessage) -> MessagePublic:
        return cls(role=message.role, content=message.content, id=message.id)


class MessageList(BaseModel):
    messages: list[MessagePublic]


class ReplyPublic(BaseModel):
    thread: ThreadPublic
    message: MessagePublic


class CleanupRequest(_Strict):
    idle_for: str = Field(description="Remove threads idle longer than this: 90s, 15m, 12h, 7d, 2w.")
    dry_run: bool = False


class CleanupResult(BaseModel):
    dry_run: bool
    count: int
    threads: list[ThreadPublic]


class UserPublic(BaseModel):
    name: str
    is_admin: bool

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(name=user.name, is_admin=user.is_admin)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "Missing or invalid token",
        404: "No such thread (or not yours)",
        422: "Malformed request",
    }.items()
}
