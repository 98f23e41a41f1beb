"""A message cut into sentences and a sentence into words, with Unicode letters throughout.

The offline agent reads a customer's message one sentence at a time. Python's
`\\w` misses combining marks (a decomposed "é", most Indic vowel signs), so words
are built from the Unicode categories L* (letters) and M* (marks) directly, after
NFC normalisation and with every apostrophe variant folded to `'`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from langchain_core.messages import BaseMessage

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_TERMINATORS = ".!?…;"
_CLOSERS = "\"')]»”"
# Abbreviations whose full stop does not end a sentence: "This is Dr. Smith", "order no. 5".
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms mx prof st mt jr sr rev fr capt col gen lt sgt hon mme mlle no nr vs etc eg ie".split()
)


@dataclass(frozen=True)
class Token:
    """A word (letters and marks, with inner apostrophes or hyphens), a number, or one other character."""

    text: str
    kind: Literal["word", "number", "mark"]

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_word(self) -> bool:
        return self.kind == "word"

    @property
    def capitalised(self) -> bool:
        """Starts with an upper- or title-case letter, or with a letter of a script without case."""
        first = self.text[0]
        return self.is_word and (first.isupper() or first.istitle() or first.lower() == first.upper())


def message_text(message: BaseMessage) -> str:
    """The text of a message, whether its content is a string or a list of parts."""
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(
        part if isinstance(part, str) else str(part.get("text", ""))
        for part in content
        if isinstance(part, str) or part.get("type") == "text"
    )


def normalise(text: str) -> str:
    """NFC form, one kind of apostrophe."""
    return unicodedata.normalize("NFC", text).translate(_APOSTROPHES)


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM"


def tokens(text: str) -> list[Token]:
    """The words, numbers and other characters of `text`, spaces dropped."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif _is_letter(ch):
            j = i + 1
            while j < n and (
                _is_letter(text[j]) or text[j] in "'-" and j + 1 < n and _is_letter(text[j + 1])
            ):
                j += 1
            out.append(Token(text[i:j], "word"))
            i = j
        elif ch.isdigit():
            j = i + 1
            while j < n and text[j].isdigit():
                j += 1
            out.append(Token(text[i:j], "number"))
            i = j
        else:
            out.append(Token(ch, "mark"))
            i += 1
    return out


def _ends_sentence(text: str, stop: int) -> bool:
    """Whether the terminator run ending at `stop` closes a sentence (not "Dr." nor an initial "J.")."""
    if text[stop - 1] != "." or stop >= 2 and text[stop - 2] == ".":
        return True
    start = stop - 1
    while start > 0 and _is_letter(text[start - 1]):
        start -= 1
    word = text[start : stop - 1]
    return not (word.lower() in _ABBREVIATIONS or len(word) == 1 and word.isupper())


def sentences(text: str) -> list[str]:
    """The sentences of a message, each with its own final punctuation, in order."""
    text = normalise(text)
    out: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        if text[i] == "\n":
            out.append(text[start:i])
            start = i = i + 1
            continue
        if text[i] in _TERMINATORS:
            j = i
            while j < n and text[j] in _TERMINATORS:
                j += 1
            stop = j
            while j < n and text[j] in _CLOSERS:
                j += 1
            if (j == n or text[j].isspace()) and _ends_sentence(text, stop):
                out.append(text[start:j])
                start = j
            i = j
            continue
        i += 1
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]
