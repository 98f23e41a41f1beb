"""What each sentence does: the acts the offline model answers from."""

from __future__ import annotations

import pytest

from threaddesk.agent.lexicon import looks_like_a_state
from threaddesk.agent.reading import Act, order_numbers, read


@pytest.mark.parametrize(
    ("text", "acts"),
    [
        ("Hi, I am Alice. My parcel never arrived.", [Act.INTRODUCTION, Act.CONCERN]),
        ("I'm Alice, what's my name?", [Act.INTRODUCTION, Act.NAME_QUESTION]),
        ("I'm calling about my order, this is Tom.", [Act.INTRODUCTION, Act.CONCERN]),
        ("Hi, I'm Alice.", [Act.INTRODUCTION]),
        ("I'm French and my order is late", [Act.CONCERN]),
        ("Am I Bob?", [Act.NAME_CHECK]),
        ("What was my order number?", [Act.ORDER_QUESTION]),
        ("Remind me what I asked about?", [Act.CONCERN_QUESTION]),
        ("Who am I talking to?", [Act.ABOUT_THE_AGENT]),
        ("Thanks! Bye.", [Act.THANKS, Act.GOODBYE]),
        ("Good morning!", [Act.GREETING]),
        ("I'm frustrated.", [Act.FEELING]),
        ("ok", [Act.ACKNOWLEDGEMENT]),
        ("Can you help me?", [Act.HELP]),
        ("The weather is nice.", [Act.UNCLEAR]),
        ("", []),
    ],
)
def test_each_sentence_is_read_for_what_it_does(text: str, acts: list[Act]) -> None:
    assert [s.act for s in read(text)] == acts


def test_a_name_question_keeps_how_it_was_asked() -> None:
    forms = [read(q)[0].form for q in ("What's my name?", "Who am I?", "Do you know who I am?")]
    assert forms == ["what", "who", "yes/no"]


def test_a_name_check_keeps_the_name_asked_about_as_written() -> None:
    assert read("Is my name Zoé?")[0].name == "Zoé"


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("My order #1042 arrived damaged.", ["1042"]),
        ("order no. 5521, and parcel 77", ["5521", "77"]),
        ("Order number: 12", ["12"]),
        ("I have 3 cats", []),
    ],
)
def test_order_numbers_are_found_by_their_marks(text: str, numbers: list[str]) -> None:
    assert order_numbers(text) == numbers


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("Frustrated", True),
        ("Having", True),
        ("Unhappy", True),
        ("Furious", True),
        ("Available", True),
        ("Confident", True),
        ("Reed", False),
        ("Olive", False),
        ("Dominic", False),
        ("Xiaoming", False),
        ("Mildred", False),
        ("Alice", False),
    ],
)
def test_adjective_and_participle_shapes(word: str, state: bool) -> None:
    assert looks_like_a_state(word) is state
