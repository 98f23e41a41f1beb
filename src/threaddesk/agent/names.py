"""The name a customer introduces themselves by, read from the structure of one sentence.

A name is a name only where the sentence says so. Two kinds of introduction frame:

- explicit ("my name is ___", "call me ___", "I'm called ___", "I go by ___", "Name: ___"):
  the slot can only hold a name, so a lower-case one counts too ("my name is juan"), and
  so does a word that is usually a state if it ends the clause ("My name is Happy.");
- weak ("I'm ___", "I am ___", "this is ___" / "it's me, ___" opening a clause, "it's ___"
  after a greeting or before "here", "___ here" / "___ speaking" opening a sentence,
  "Regards, ___"): the slot also holds states, roles, places and nationalities ("I'm
  Frustrated", "I'm CEO", "I'm French"), so the candidate must be capitalised (in a
  sentence not written in capitals, and not itself an acronym), must not be of a closed
  class that fits the slot (see `lexicon`), must not have an adjective's or participle's
  shape, and must be followed by what follows a name: the end of the clause, a surname,
  or a word such as "from", "here", "and".

A title ("Dr", "Mrs") is part of the name when a surname follows and no name
on its own. Negated and asked frames ("I'm not Bob", "don't call me Al",
"Am I Bob?") introduce nobody.
"""

from __future__ import annotations

import functools

from threaddesk.agent.lexicon import (
    NAME_PARTICLES,
    TIME_WORDS,
    TITLES,
    is_function_word,
    is_never_a_name,
    looks_like_a_state,
)
from threaddesk.agent.sentences import Token, sentences, tokens

# Token sequences (lower case) after which only a name can come.
_EXPLICIT_FRAMES: tuple[tuple[str, ...], ...] = (
    ("my", "name", "is"),
    ("my", "name's"),
    ("my", "first", "name", "is"),
    ("my", "full", "name", "is"),
    ("my", "first", "name's"),
    ("the", "name", "is"),
    ("the", "name's"),
    ("call", "me"),
    ("calls", "me"),
    ("i'm", "called"),
    ("im", "called"),
    ("i", "am", "called"),
    ("i", "go", "by"),
    ("name", ":"),
)
_WEAK_FRAMES: tuple[tuple[str, ...], ...] = (("i'm",), ("im",), ("i", "am"))
# Only where the sentence starts: "Hi, this is Erin", not "my order this is about".
_OPENING_FRAMES: tuple[tuple[str, ...], ...] = (
    ("this", "is"),
    ("it's",),
    ("it", "is"),
    ("it's", "me", ","),
    ("it", "is", "me", ","),
)
_ITS: tuple[tuple[str, ...], ...] = (("it's",), ("it", "is"))
_NEGATIONS = frozenset("don't dont not never do".split())  # "do not call me", "don't call me"
# Interjections that may come before an introduction at the start of a sentence.
_OPENERS = frozenset(
    "hi hello hey hiya howdy greetings yes yeah oh ok okay well so sorry good morning".split()
)
_GREETINGS = frozenset("hi hello hey hiya howdy greetings morning".split())
# Words that open a question: a frame inside one is asked, not stated ("Am I Bob?", "Is this Alice?").
_QUESTION_WORDS = frozenset(
    "what who whom whose where when why how which do does did is are am was were can could would will "
    "should shall may might have has had".split()
)
# Lower-case words that may follow a name in a weak frame: "I'm Alice from Acme", and the words that
# open the next clause when punctuation is left out ("Hi I'm Alice can you help").
_AFTER_A_NAME = frozenset(
    "from here speaking and with at again btw calling writing too by but on via "
    "i my can could would please need thanks thank what how".split()
)
# What must follow "it's ___" for it to be an introduction ("It's Alice here", not "It's Monday").
_AFTER_ITS_NAME = frozenset("here again speaking from calling".split())
_SIGN_OFFS = frozenset("regards sincerely".split())
_MAX_NAME_WORDS = 4


def _matches(words: list[str], at: int, frame: tuple[str, ...]) -> bool:
    return tuple(words[at : at + len(frame)]) == frame


def _opening(toks: list[Token]) -> int:
    """Index of the first token after any leading interjections and commas ("Hi, this is ...")."""
    i = 0
    while i < len(toks) and (toks[i].lower in _OPENERS or toks[i].kind == "mark" and toks[i].text in ",!-–—"):
        i += 1
    return i


def _name_at(toks: list[Token], i: int, *, explicit: bool) -> tuple[str, int] | None:
    """The name starting at token `i` and the index after it, if the tokens there make one."""
    if i >= len(toks) or not toks[i].is_word:
        return None
    first = toks[i]
    parts: list[str] = []
    if first.lower in TITLES and first.capitalised:
        j = i + 1
        title = first.text
        if j < len(toks) and toks[j].text == ".":
            title += "."
            j += 1
        if j >= len(toks) or not toks[j].capitalised or is_never_a_name(toks[j].text):
            return None
        parts, i = [title], j
        first = toks[i]
    # In "my name is ___" a capitalised word is a name unless it cannot be one ("My name is Happy").
    closed = is_function_word if explicit and first.capitalised and not parts else is_never_a_name
    if closed(first.text) or first.text.endswith("'s"):
        return None
    if not explicit or not first.capitalised:
        if looks_like_a_state(first.text) and not parts:
            return None
    if len(first.text) == 1 and not (i + 1 < len(toks) and toks[i + 1].text == "."):
        return None
    parts.append(first.text + ("." if len(first.text) == 1 else ""))
    j = i + (2 if len(first.text) == 1 else 1)
    while len(parts) < _MAX_NAME_WORDS and j < len(toks) and toks[j].is_word:
        tok = toks[j]
        if (
            tok.capitalised
            and not is_never_a_name(tok.text)
            and not looks_like_a_state(tok.text)
            and not tok.text.endswith("'s")
        ):
            if len(tok.text) == 1 and j + 1 < len(toks) and toks[j + 1].text == ".":
                parts.append(tok.text + ".")
                j += 2
                continue
            parts.append(tok.text)
            j += 1
        elif tok.lower in NAME_PARTICLES and j + 1 < len(toks) and toks[j + 1].capitalised:
            parts.append(tok.text)
            j += 1
        else:
            break
    if parts[-1] in NAME_PARTICLES:
        parts.pop()
    return " ".join(parts), j


def _followed_like_a_name(toks: list[Token], j: int) -> bool:
    """Whether what comes after a candidate name is what comes after names: an end, a mark, a link word."""
    if j >= len(toks):
        return True
    nxt = toks[j]
    return nxt.kind == "mark" or nxt.is_word and nxt.lower in _AFTER_A_NAME


def _acronym(tok: Token) -> bool:
    return len(tok.text) > 1 and tok.text.isupper()


def _display(name: str) -> str:
    """A name as typed, except that an all-lower-case one gets its capitals ("juan" → "Juan")."""
    return name.title() if name == name.lower() else name


class _Reading:
    """One sentence's tokens and the facts about it every frame looks at."""

    def __init__(self, sentence: str) -> None:
        self.toks = tokens(sentence)
        self.words = [t.lower for t in self.toks]
        self.start = _opening(self.toks)
        self.greeted = any(t.lower in _GREETINGS for t in self.toks[: self.start])
        # A question ("Am I Bob?") or a sentence all in capitals ("I AM FURIOUS") states no weak frame.
        asked = self.start < len(self.toks) and self.words[self.start] in _QUESTION_WORDS
        self.weak_frames_count = not asked and sentence != sentence.upper()

    def followed_like_a_name(self, j: int) -> bool:
        """Whether what comes at `j` is what comes after names: an end, a mark, a link word."""
        return j >= len(self.toks) or self.toks[j].kind == "mark" or self.words[j] in _AFTER_A_NAME

    def explicit(self, at: int) -> str | None:
        """The name an explicit frame starting at `at` gives ("my name is juan")."""
        if at > 0 and self.words[at - 1] in _NEGATIONS:
            return None
        for frame in _EXPLICIT_FRAMES:
            if _matches(self.words, at, frame):
                after = at + len(frame)
                got = _name_at(self.toks, after, explicit=True)
                if not got:
                    continue
                end = got[1] >= len(self.toks) or self.toks[got[1]].kind == "mark"
                first = self.toks[after]
                if is_never_a_name(first.text) and first.lower not in TITLES and not end:
                    continue  # "My name is Happy." but not "My name is Missing from the invoice"
                if self.toks[after].capitalised or self.followed_like_a_name(got[1]):
                    return _display(got[0])
        return None

    def weak(self, at: int) -> str | None:
        """The name a weak frame starting at `at` gives ("I'm Alice", "Hi, this is Erin")."""
        frames = [f for f in _WEAK_FRAMES if _matches(self.words, at, f)]
        if at == self.start or at > 0 and self.toks[at - 1].text in ",;:-–—":
            frames += [f for f in _OPENING_FRAMES if _matches(self.words, at, f)]
        for frame in frames:
            after = at + len(frame)
            if all(t.text == t.text.upper() for t in self.toks[at:after]):
                continue  # "I AM FURIOUS": shouted, so its capitals say nothing
            if any(_matches(self.words, at, f) for f in _EXPLICIT_FRAMES):
                continue  # "I'm called Juan": the explicit frame reads it
            got = _name_at(self.toks, after, explicit=False)
            if not got or not self.toks[after].capitalised or not self.followed_like_a_name(got[1]):
                continue
            if _acronym(self.toks[after]):
                continue  # "I'm CEO", "This is HR": a name in capitals needs "my name is"
            if frame in _ITS and (
                self.words[after] in TIME_WORDS
                or not self.greeted
                and not (got[1] < len(self.toks) and self.words[got[1]] in _AFTER_ITS_NAME)
            ):
                continue  # "It's Monday", "It's Amazon"; but "Hi, it's Alice", "It's Alice here"
            return got[0]
        return None

    def here_or_signed(self) -> str | None:
        """The name in "Alice here." / "Alice speaking, ..." or a sign-off "Regards, Alice"."""
        toks, words = self.toks, self.words
        got = _name_at(toks, self.start, explicit=False)
        if (
            got
            and toks[self.start].capitalised
            and got[1] < len(toks)
            and words[got[1]] in ("here", "speaking")
        ):
            if got[1] + 1 >= len(toks) or toks[got[1] + 1].kind == "mark":
                return got[0]
        for at in range(len(toks) - 2):
            if words[at] in _SIGN_OFFS and toks[at + 1].text == ",":
                got = _name_at(toks, at + 2, explicit=False)
                if got and toks[at + 2].capitalised and all(t.kind == "mark" for t in toks[got[1] :]):
                    return got[0]
        return None


def _introductions(sentence: str) -> list[str]:
    reading = _Reading(sentence)
    found: list[str] = []
    for at in range(len(reading.toks)):
        name = reading.explicit(at) or (reading.weak(at) if reading.weak_frames_count else None)
        if name:
            found.append(name)
    if reading.weak_frames_count:
        name = reading.here_or_signed()
        if name:
            found.append(name)
    return found


def name_in_sentence(sentence: str) -> str | None:
    """The name this sentence introduces its writer by, if it does (the last one if several)."""
    found = _introductions(sentence)
    return found[-1] if found else None


@functools.lru_cache(maxsize=4096)
def name_in(text: str) -> str | None:
    """The name a message introduces its writer by ("Hi, I'm Alice.", "my name is juan"), if any."""
    found = None
    for sentence in sentences(text):
        found = name_in_sentence(sentence) or found
    return found
