"""Introductions: a name is a name only where the sentence says so.

The property tests generate capitalised words of any alphabet, put them where a
name is NOT being given, and check the agent never calls the customer by them;
and put them where one is, and check it does.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from threaddesk.agent.lexicon import DEMONYMS, is_never_a_name, looks_like_a_state
from threaddesk.agent.names import name_in
from threaddesk.agent.offline import reply_for
from threaddesk.agent.profile import introduced_name
from threaddesk.agent.sentences import tokens


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I'm Alice", "Alice"),
        ("I am Bob.", "Bob"),
        ("my name is Carol", "Carol"),
        ("Hello, this is Dave from Acme", "Dave"),
        ("call me Erin!", "Erin"),
        ("Hey, I'm Frank.", "Frank"),
        ("This is Dr. Smith", "Dr. Smith"),
        ("I'm Mrs Patel", "Mrs Patel"),
        ("My name is Zoé", "Zoé"),
        ("I'm called Juan", "Juan"),
        ("i'm called juan", "Juan"),
        ("my name is o'brien", "O'Brien"),
        ("Hi, I'm Alice. I'm Frustrated.", "Alice"),
        ("I'm not Alice, I'm Bob", "Bob"),
        ("I'm having trouble with my order", None),
        ("I am Not sure", None),
        ("Do you know who I am?", None),
        ("i'm grace", None),
        ("I am Frustrated", None),
        ("I'm French and my order is late", None),
        ("This is Dr", None),
        ("My husband's name is Tom", None),
        ("It's Friday", None),
        ("Is my name Alice?", None),
        ("Can you call me back?", None),
        ("I'M ALICE", None),
    ],
)
def test_names_are_read_from_introductions(text: str, name: str | None) -> None:
    assert name_in(text) == name


# What customers say they are. Each would be a name to a reader that takes any capitalised word after "I'm".
STATES = """
Done Over Out Outraged Shocked Livid Calling Moving Travelling Abroad Pregnant Disabled Elderly Blind Deaf
Retired Unemployed Broke Poor Rich Married Single Divorced Sick Ill Tired Exhausted Starving Nervous Scared
Afraid Curious Impatient Desperate Serious Joking Kidding Fine Okay Alright Good Great Excellent Grateful
Thankful Pleased Satisfied Dissatisfied Impressed Amazed Speechless Concerned Worried Anxious Stressed
Overwhelmed Late Early Ready Busy Free Available Away Online Outside Home Here There Back Gone Leaving
Staying Vegan Diabetic Allergic Asthmatic Autistic Gay Straight Trans Male Female Old Young Twenty Fifty
Student Teacher Nurse Engineer Lawyer Developer Manager Admin Staff Pro Member New Confused Lost Stuck
Locked Blocked Banned Suspended Charged Owed Entitled Eligible Unsure Uncertain Positive Sure Certain
Finished Complete Through Sad Mad Cross Hopeful Optimistic Pessimistic Sceptical Honest Wrong Right
Correct Mistaken Responsible Liable Aware Unaware Awake Asleep Alive Dead Hungry Thirsty Cold Hot Warm
Sorry Ashamed Embarrassed Proud Jealous Lonely Bored Crazy Insane Kind Patient Polite Rude Loyal Regular
Frequent Premium VIP Gold Platinum Silver Basic Plus Prime Accountant Confident Independent Hesitant
Reluctant Sarcastic Critical Furious Annoyed Upset Irritated Frustrated Disappointed Unhappy Miserable
Devastated Heartbroken Gutted Fuming Raging Appalled Disgusted Horrified Baffled Puzzled Perplexed
Clueless Helpless Hopeless Powerless Frantic Terrified Uneasy Restless Weary Drained Burnt French
Canadian Japanese Polish Chinese Brazilian Nigerian Muslim Jewish Catholic
""".split()
# Given names, several shaped like a state ("Mildred", "Irving") or a closed-class word ("Will", "May").
NAMES = """
Alice Bob Grant Dominic Ludovic Vincent Laurent Clive Olive Prashant Nishant Hemant Vedant Emily Kelly
Molly Sally Ally Lily Ted Fred Reed Ahmed Mohammed Alfred Mildred Irving Sterling Channing Hope Joy Faith
Will Mark Bill May June April Rose Summer Sunny Christian Pat Kim Ray Amy Andy Betty Jennifer Peter Walter
Esther Tyler Hunter Parker Cooper Crystal Chantal Hal Val Neal Kunal Vishal Bilal Jamal Kamal Eric Cedric
Frederic Florent Trent Brent Kent Clement Therese Manish Ashish Harish Trish Dean Grace Joyce Charity
Mercy Honor Justice Liberty Destiny Serenity Harmony Trinity Unity Una Patience Xiaoming Jianping Liying
Zhiming Wenjing Khaled Javed
""".split()
# Names that are also words of a state or nationality: known only from an explicit frame.
AMBIGUOUS = "Happy Lucky Precious Blessing Constant Danish Irish".split()


@pytest.mark.parametrize("word", STATES)
def test_a_state_after_i_am_is_not_a_name(word: str) -> None:
    assert name_in(f"I'm {word}.") is None
    assert name_in(f"Hi, I am {word} and my order is late") is None


@pytest.mark.parametrize("word", NAMES)
def test_a_name_after_i_am_is_a_name(word: str) -> None:
    assert name_in(f"I'm {word}.") == word
    assert name_in(f"Hi, I am {word} and my order is late") == word


@pytest.mark.parametrize("word", AMBIGUOUS)
def test_a_word_that_may_be_either_is_a_name_only_when_explicitly_one(word: str) -> None:
    assert name_in(f"I'm {word}.") is None
    assert name_in(f"My name is {word}.") == word
    assert name_in(f"Call me {word}.") == word


def test_only_the_customers_messages_introduce() -> None:
    messages: list[BaseMessage] = [
        HumanMessage("I'm Alice."),
        AIMessage("I'm Botty."),
        HumanMessage("Thanks"),
    ]
    assert introduced_name(messages) == "Alice"


def _is_word(w: str) -> bool:
    return (
        unicodedata.normalize("NFC", w) == w
        and len(w[0].upper()) == 1
        and w[0].upper() != w[0]
        and [t.text for t in tokens(w)] == [w]
    )


# Words of several alphabets (Latin with diacritics, Greek, Cyrillic), capitalised: "Zoé", "Ωmega".
_LOWER = st.characters(
    categories=["Ll"], min_codepoint=0x61, max_codepoint=0x4FF, exclude_characters="ßŉǰΐΰſ"
)
words = st.text(_LOWER, min_size=3, max_size=9).filter(_is_word).map(lambda w: w[0].upper() + w[1:])

# Sentences that mention a capitalised word without the writer introducing themselves by it.
NOT_INTRODUCTIONS = [
    "I'm from {w}.",
    "I live in {w}.",
    "My order from {w} is late.",
    "{w} sent me the wrong item.",
    "I bought it at {w}.",
    "Is {w} open today?",
    "I'm not {w}.",
    "My friend {w} said you could help.",
    "Tell {w} I said hi.",
    "I'm {w}'s brother.",
    "Don't call me {w}.",
    "Am I {w}?",
    "Is my name {w}?",
    "I was talking to {w} yesterday.",
    "The courier {w} lost my parcel.",
    "It's {w}.",
    "Is this {w}?",
    "Who is {w}?",
    "I'm {w}ated.",
    "I am {w}ing my order.",
    "This is {w}ous!",
    "I'm {w}ful and my parcel is late.",
    "I'm looking for {w}.",
    "My name is not {w}.",
    "I AM {W}.",
    "i'm {lw}",
    "I'm {d}.",
    "I'm {d} and my order is late.",
]

# Words any reply may contain whatever the customer said ("Hello", "You're", "order").
_TEMPLATE_WORDS = {
    t.lower
    for text in [
        "Hi",
        "Thanks",
        "bye",
        "ok",
        "What's my name?",
        "What was my issue?",
        "asdf",
        "I'm frustrated",
        "How are you?",
        "Can you help me?",
        "What's my order number?",
        "My order is late",
        "Hey",
    ]
    for t in tokens(reply_for([HumanMessage(text)]))
}


def _named(reply: str) -> set[str]:
    """The words of a reply outside the customer's own words it quotes back."""
    return {t.lower for t in tokens(re.sub(r'"[^"]*"', " ", reply)) if t.is_word}


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[str], list[str], str | None]:
    """(customer messages, the capitalised words used in them, the name really introduced)."""
    name = draw(st.sampled_from([None, "Alice", "Zoé", "Łukasz"]))
    used: list[str] = []
    sentences_: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        w = draw(words)
        assume(w.lower() not in _TEMPLATE_WORDS and not is_never_a_name(w))
        d = draw(st.sampled_from(sorted(DEMONYMS))).capitalize()
        frame = draw(st.sampled_from(NOT_INTRODUCTIONS))
        sentences_.append(frame.format(w=w, W=w.upper(), lw=w.lower(), d=d))
        used += [w, d]
    messages = [f"Hi, I'm {name}."] if name else []
    if draw(st.booleans()):
        messages.append(" ".join(sentences_))
    else:
        messages += sentences_
    messages.append(
        draw(st.sampled_from(["What's my name?", "Who am I?", "What was my issue?", "Thanks", "Hi"]))
    )
    return messages, used, name


@given(conversations())
def test_a_reply_never_names_anything_not_introduced(
    conversation: tuple[list[str], list[str], str | None],
) -> None:
    says, used, name = conversation
    messages: list[BaseMessage] = []
    for text in says:
        messages.append(HumanMessage(text))
        reply = reply_for(messages)
        messages.append(AIMessage(reply))
        named = _named(reply)
        for word in used:
            if name is None or word.lower() not in name.lower():
                assert word.lower() not in named, f"{says} → {reply!r} names {word!r}"
    if says[-1] in ("What's my name?", "Who am I?"):
        assert (name or "I don't know your name yet") in reply


# Words that never open an introduction frame, to mix with capitalised ones in any order.
_FILLER = "my order from is late the to we went parcel and with arrived never in at you for was not a".split()


@given(
    st.lists(
        st.lists(st.one_of(words, st.sampled_from(_FILLER)), min_size=1, max_size=10).map(" ".join),
        min_size=1,
        max_size=3,
    )
)
def test_capitalised_words_outside_any_frame_are_never_names(says: list[str]) -> None:
    used = {w for text in says for w in text.split() if w not in _FILLER}
    assume(not any(w.lower() in _TEMPLATE_WORDS for w in used))
    messages: list[BaseMessage] = []
    for text in [*says, "What's my name?"]:
        messages.append(HumanMessage(text))
        reply = reply_for(messages)
        messages.append(AIMessage(reply))
        assert not {w.lower() for w in used} & _named(reply), f"{says} → {reply!r}"
    assert reply == "I don't know your name yet. What should I call you?"


@given(words, st.sampled_from(["My name is {w}.", "Hi, I'm {w}.", "Call me {w}!", "Hello, this is {w}."]))
def test_a_name_of_any_alphabet_is_recalled(w: str, frame: str) -> None:
    assume(not is_never_a_name(w) and not looks_like_a_state(w))
    messages: list[BaseMessage] = [HumanMessage(frame.format(w=w))]
    messages += [AIMessage(reply_for(messages)), HumanMessage("What's my name?")]
    assert reply_for(messages) == f"Your name is {w}!"


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_any_text_gets_a_reply(says: list[str]) -> None:
    messages: list[BaseMessage] = []
    for text in says:
        messages.append(HumanMessage(text))
        reply = reply_for(messages)
        assert reply.strip()
        messages.append(AIMessage(reply))
