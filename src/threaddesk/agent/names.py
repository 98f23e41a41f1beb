"""The name a customer introduces themselves by, read from the structure of one sentence.

A name is a name only where the sentence says so. Two kinds of introduction frame:

- explicit ("my name is ___", "call me ___", "I'm called ___", "I go by ___"): the
  slot can only hold a name, so a lower-case one counts too ("my name is juan");
- weak ("I'm ___", "I am ___", "this is ___" opening a sentence, "it's ___ here",
  "___ here" / "___ speaking" opening a sentence): the slot also holds states,
  places and nationalities ("I'm Frustrated", "I'm French"), so the candidate must
  be capitalised (in a sentence that is not all capitals), must not be of a closed
  class that fits the slot (see `lexicon`), must not have an adjective's or
  participle's shape, and must be followed by what follows a name: the end of the
  clause, a surname, or a word such as "from", "here", "and".

A title ("Dr", "Mrs") is part of the name when a surname follows and no name
on its own. Negated and asked frames ("I'm not Bob", "don't call me Al",
"Am I Bob?") introduce nobody.
"""

from __future__ import annotations

from threaddesk.agent.lexicon import (
    NAME_PARTICLES,
    TIME_WORDS,
    TITLES,
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
    "from here speaking and with at of again btw calling writing too by but on via "
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
    if is_never_a_name(first.text) or first.text.endswith("'s"):
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


def _display(name: str) -> str:
    """A name as typed, except that an all-lower-case one gets its capitals ("juan" → "Juan")."""
    return name.title() if name == name.lower() else name


def _introductions(sentence: str) -> list[str]:
    toks = tokens(sentence)
    words = [t.lower for t in toks]
    has_lower = sentence != sentence.upper()  # not written all in capitals
    start = _opening(toks)
    greeted = start > 0 and any(t.lower in _GREETINGS for t in toks[:start])
    asked = start < len(toks) and words[start] in _QUESTION_WORDS
    found: list[str] = []
    for at in range(len(toks)):
        negated = at > 0 and words[at - 1] in _NEGATIONS
        for frame in _EXPLICIT_FRAMES:
            if _matches(words, at, frame) and not negated:
                after = at + len(frame)
                got = _name_at(toks, after, explicit=True)
                if got and (toks[after].capitalised or _followed_like_a_name(toks, got[1])):
                    found.append(_display(got[0]))
        if asked or not has_lower:
            continue
        weak: list[tuple[str, ...]] = [f for f in _WEAK_FRAMES if _matches(words, at, f)]
        clause_start = at == start or at > 0 and toks[at - 1].text in ",;:-–—"
        weak += [f for f in _OPENING_FRAMES if clause_start and _matches(words, at, f)]
        for frame in weak:
            after = at + len(frame)
            if all(t.text == t.text.upper() for t in toks[at:after]):
                continue  # "I AM FURIOUS": shouted, so its capitals say nothing
            if any(
                _matches(words, after, f[len(frame) :]) for f in _EXPLICIT_FRAMES if f[: len(frame)] == frame
            ):
                continue  # "I'm called Juan": the explicit frame read it
            got = _name_at(toks, after, explicit=False)
            if not got or not toks[after].capitalised or not _followed_like_a_name(toks, got[1]):
                continue
            if frame in _ITS:
                if toks[after].lower in TIME_WORDS:
                    continue
                if not greeted and not (got[1] < len(toks) and words[got[1]] in _AFTER_ITS_NAME):
                    continue
            found.append(got[0])
    if has_lower and not asked:
        # "Alice here." / "Alice speaking, ..." and a sign-off "Regards, Alice".
        got = _name_at(toks, start, explicit=False)
        if got and toks[start].capitalised and got[1] < len(toks) and words[got[1]] in ("here", "speaking"):
            if got[1] + 1 >= len(toks) or toks[got[1] + 1].kind == "mark":
                found.append(got[0])
        for at in range(len(toks) - 2):
            if words[at] in _SIGN_OFFS and toks[at + 1].text == ",":
                got = _name_at(toks, at + 2, explicit=False)
                if got and toks[at + 2].capitalised and all(t.kind == "mark" for t in toks[got[1] :]):
                    found.append(got[0])
    return found


def name_in_sentence(sentence: str) -> str | None:
    """The name this sentence introduces its writer by, if it does (the last one if several)."""
    found = _introductions(sentence)
    return found[-1] if found else None


def name_in(text: str) -> str | None:
    """The name a message introduces its writer by ("Hi, I'm Alice.", "my name is juan"), if any."""
    found = None
    for sentence in sentences(text):
        found = name_in_sentence(sentence) or found
    return found
