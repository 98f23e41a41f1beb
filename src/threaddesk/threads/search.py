"""Full-text search over what was said: the value types and the query rules every backend shares.

A turn that succeeds puts its question and reply in the backend's text index
(SQLite FTS5, PostgreSQL `tsvector`); `SupportDesk.search` reads it back. The
search text is reduced here to plain terms, so no user input ever reaches a
backend's query syntax (FTS5's `"`/`NEAR`/`*`, `to_tsquery`'s `&|!`), and each
term matches words that start with it ("refund" finds "refunds").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from threaddesk.errors import InvalidArgument
from threaddesk.threads.models import Thread

MAX_TERMS = 16
MAX_TERM_LENGTH = 64
MAX_SEARCH_RESULTS = 100
# Letters and digits (any script); everything else separates terms, as both backends' tokenizers do.
_TERM = re.compile(r"[^\W_]+")


def search_terms(text: object) -> list[str]:
    """The distinct lower-cased words of `text`, in order; `InvalidArgument` if it has none."""
    if not isinstance(text, str):
        raise InvalidArgument("search text must be a string")
    terms = list(dict.fromkeys(word.casefold() for word in _TERM.findall(text)))
    if not terms:
        raise InvalidArgument("search text must contain a letter or a digit")
    if len(terms) > MAX_TERMS or any(len(term) > MAX_TERM_LENGTH for term in terms):
        raise InvalidArgument(
            f"search text is limited to {MAX_TERMS} words of at most {MAX_TERM_LENGTH} characters"
        )
    return terms


def check_search_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise InvalidArgument(f"limit must be an integer from 1 to {MAX_SEARCH_RESULTS}, got {limit!r}")
    return limit


@dataclass(frozen=True, slots=True)
class IndexedMessage:
    """One message as the text index keeps it; `message_id` makes indexing it twice harmless."""

    message_id: str
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A stored message that matches, and the thread it was said on (as it is now)."""

    thread: Thread
    message: IndexedMessage
    terms: tuple[str, ...] = ()

    def snippet(self, width: int = 80) -> str:
        """The message on one line, at most `width` characters, around its first matching word."""
        return snippet(self.message.content, self.terms, width)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread": self.thread.to_dict(),
            "message": {
                "id": self.message.message_id,
                "role": self.message.role,
                "content": self.message.content,
            },
            "snippet": self.snippet(),
        }


def snippet(content: str, terms: Sequence[str], width: int = 80) -> str:
    """`content` on one line, at most `width` characters, starting a little before the first term found."""
    text = " ".join(content.split())
    if len(text) <= width:
        return text
    found = (
        re.search(r"\b(?:" + "|".join(map(re.escape, terms)) + ")", text, re.IGNORECASE) if terms else None
    )
    start = max(0, (found.start() if found else 0) - width // 4)
    start = min(start, len(text) - (width - 1))
    if start > 0:
        space = text.find(" ", start, start + width // 4)
        start = space + 1 if space != -1 else start
    head = "…" if start > 0 else ""
    room = width - len(head)
    body = text[start : start + room]
    if start + room < len(text):
        body = body[: room - 1].rstrip() + "…"
    return head + body
