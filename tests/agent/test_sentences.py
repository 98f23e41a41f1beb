"""Sentences and words: where a message is cut, and what counts as a letter."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threaddesk.agent.sentences import normalise, sentences, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, I am Alice. My parcel never arrived.", ["Hi, I am Alice.", "My parcel never arrived."]),
        ("This is Dr. Smith. Hello!", ["This is Dr. Smith.", "Hello!"]),
        ("I am J. Smith.", ["I am J. Smith."]),
        ("Order no. 5 is late", ["Order no. 5 is late"]),
        ("It costs 3.50 now. Why?!", ["It costs 3.50 now.", "Why?!"]),
        ("Hello\nMy name is Zoé\n\nBye", ["Hello", "My name is Zoé", "Bye"]),
        ('He said "stop." Then left', ['He said "stop."', "Then left"]),
        ("I'm Alice; my card was charged twice", ["I'm Alice;", "my card was charged twice"]),
        ("   ", []),
        ("Wait... what?", ["Wait...", "what?"]),
    ],
)
def test_sentences_are_cut_where_they_end(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_words_keep_unicode_letters_marks_and_inner_apostrophes() -> None:
    assert [t.text for t in tokens("Zoé, Łukasz O'Brien-Smith राम #1042!")] == [
        "Zoé",
        ",",
        "Łukasz",
        "O'Brien-Smith",
        "राम",
        "#",
        "1042",
        "!",
    ]
    assert [t.kind for t in tokens("a1!")] == ["word", "number", "mark"]


def test_decomposed_letters_and_curly_apostrophes_are_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Zoé’s")
    assert normalise(decomposed) == "Zoé's"
    assert [t.text for t in tokens(normalise(decomposed))] == ["Zoé's"]


def test_capitalised_means_upper_case_or_a_script_without_case() -> None:
    assert [t.capitalised for t in tokens("Alice alice Ωmega 李雷 ǅemal 42")] == [
        True,
        False,
        True,
        True,
        True,
        False,
    ]


@given(st.text())
def test_cutting_loses_no_words(text: str) -> None:
    """Every word of a message is in exactly one of its sentences, in order."""
    words = [t.text for t in tokens(normalise(text)) if t.is_word]
    assert [t.text for s in sentences(text) for t in tokens(s) if t.is_word] == words
