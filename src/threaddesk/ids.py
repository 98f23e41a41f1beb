"""Thread ids: generated ones are unguessable, caller-chosen ones are validated.

The thread id IS LangGraph's `thread_id`: one id keys both the registry row and
the checkpoints, so it must be safe in URLs, file names, shells and SQL.
"""

from __future__ import annotations

import re
import uuid

from threaddesk.errors import InvalidThreadId, InvalidUserId

MAX_THREAD_ID_LENGTH = 128
MAX_USER_ID_LENGTH = 128

_THREAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_thread_id() -> str:
    """A random UUID4 (122 random bits), so ids cannot be guessed or enumerated."""
    return str(uuid.uuid4())


def validate_thread_id(thread_id: object) -> str:
    """Return `thread_id` if it is well formed, else raise `InvalidThreadId`."""
    if not isinstance(thread_id, str):
        raise InvalidThreadId(thread_id, "must be a string")
    if not thread_id:
        raise InvalidThreadId(thread_id, "must not be empty")
    if len(thread_id) > MAX_THREAD_ID_LENGTH:
        raise InvalidThreadId(thread_id, f"longer than {MAX_THREAD_ID_LENGTH} characters")
    if not _THREAD_ID.fullmatch(thread_id):
        raise InvalidThreadId(
            thread_id,
            "use letters, digits and . _ : - only, starting with a letter or digit",
        )
    return thread_id


def validate_user_id(user_id: object) -> str:
    """Owners are opaque strings from the caller's identity system; refuse only the unusable."""
    if not isinstance(user_id, str):
        raise InvalidUserId(user_id, "must be a string")
    if not user_id.strip():
        raise InvalidUserId(user_id, "must not be empty")
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidUserId(user_id, f"longer than {MAX_USER_ID_LENGTH} characters")
    if _CONTROL.search(user_id):
        raise InvalidUserId(user_id, "must not contain control characters")
    return user_id
