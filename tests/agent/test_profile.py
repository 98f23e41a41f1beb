"""The profile: the customer's name outlives context trimming, whatever its alphabet or title."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage

from threaddesk import open_desk
from threaddesk.agent.profile import introduced_name, name_in_prompt, with_profile
from threaddesk.config import DEFAULT_SYSTEM_PROMPT, Settings


@given(
    st.text(st.characters(categories=["L", "M", "Zs"], include_characters=".'-"), min_size=1).map(str.strip)
)
def test_the_prompt_gives_back_the_name_it_was_given(name: str) -> None:
    if name and "\n" not in name:
        assert name_in_prompt(with_profile(DEFAULT_SYSTEM_PROMPT, name)) == name


def test_no_name_leaves_the_prompt_alone() -> None:
    assert with_profile(DEFAULT_SYSTEM_PROMPT, None) == DEFAULT_SYSTEM_PROMPT
    assert name_in_prompt(DEFAULT_SYSTEM_PROMPT) is None


def test_the_latest_introduction_wins_and_only_the_customer_introduces() -> None:
    messages = [HumanMessage("I'm Alice."), AIMessage("My name is Botty."), HumanMessage("Call me Ally.")]
    assert introduced_name(messages) == "Ally"
    assert introduced_name(messages[:2]) == "Alice"
    assert introduced_name([HumanMessage("I'm Frustrated.")]) is None


@pytest.mark.parametrize(
    ("intro", "name"),
    [
        ("This is Dr. Smith.", "Dr. Smith"),
        ("my name is zoé", "Zoé"),
        ("Hi, I'm Nguyễn Thị Minh.", "Nguyễn Thị Minh"),
    ],
)
async def test_a_name_given_long_ago_survives_a_two_message_context(
    intro: str, name: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=str(tmp_path / "desk.sqlite"), context_messages=2)
    async with open_desk(settings) as desk:
        assert (
            await desk.send("t1", intro, user_id="u", create=True)
        ).text == f"Hello {name}! How can I help?"
        for i in range(3):
            await desk.send("t1", f"My parcel {i} is still missing.")
        await desk.send("t1", "I'm Frustrated.")
        assert (await desk.send("t1", "Who am I?")).text == f"You're {name}!"
