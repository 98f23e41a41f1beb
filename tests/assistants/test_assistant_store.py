"""Stored assistants on every backend: LangGraph's semantics for create, update (versions), latest,
delete, search and count, and the graph's own assistant that never changes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from threaddesk import SupportDesk, open_desk
from threaddesk.assistants import AssistantQuery, system_assistant_id
from threaddesk.errors import (
    AssistantExists,
    AssistantNotFound,
    GraphNotFound,
    InvalidArgument,
    SystemAssistant,
)

GRAPH = "support_agent"
SYSTEM = system_assistant_id(GRAPH)


async def test_create_get_and_the_system_assistant_listed_beside(desk: SupportDesk, clock) -> None:
    clock.advance(timedelta(days=1))
    billing = await desk.assistants.create(
        GRAPH, name="billing", context={"system_prompt": "You handle billing."}, metadata={"team": "money"}
    )
    assert billing.version == 1 and billing.name == "billing"
    # context and config.configurable are kept equal, as LangGraph keeps them
    assert billing.config == {"configurable": {"system_prompt": "You handle billing."}}
    assert await desk.assistants.get(billing.assistant_id) == billing
    found = await desk.assistants.search(AssistantQuery())
    assert [a.assistant_id for a in found] == [billing.assistant_id, SYSTEM]  # newest first
    assert await desk.assistants.count(AssistantQuery()) == 2
    assert await desk.assistants.count(AssistantQuery(metadata={"team": "money"})) == 1
    assert [a.name for a in await desk.assistants.search(AssistantQuery(name="BILL"))] == ["billing"]
    by_name = await desk.assistants.search(AssistantQuery(sort_by="name", sort_order="asc"))
    assert [a.name for a in by_name] == ["billing", GRAPH]
    assert (await desk.assistants.get(GRAPH)).assistant_id == SYSTEM  # a graph's name finds its own


async def test_an_update_adds_a_version_and_latest_moves_between_them(desk: SupportDesk, clock) -> None:
    made = await desk.assistants.create(GRAPH, name="v1", context={"model": "offline"}, metadata={"a": 1})
    clock.advance(timedelta(minutes=1))
    second = await desk.assistants.update(made.assistant_id, name="v2", metadata={"b": 2})
    assert (second.version, second.name, second.metadata) == (2, "v2", {"a": 1, "b": 2})
    assert second.context == {"model": "offline"}  # what an update leaves out stays
    third = await desk.assistants.update(made.assistant_id, context={"context_messages": 4})
    assert (third.version, third.context, third.config) == (
        3,
        {"context_messages": 4},
        {"configurable": {"context_messages": 4}},
    )
    versions = await desk.assistants.versions(made.assistant_id)
    assert [v.version for v in versions] == [3, 2, 1]
    assert [v.version for v in await desk.assistants.versions(made.assistant_id, metadata={"b": 2})] == [3, 2]
    back = await desk.assistants.set_latest(made.assistant_id, 1)
    assert (back.version, back.name, back.context, back.metadata) == (1, "v1", {"model": "offline"}, {"a": 1})
    assert (await desk.assistants.get(made.assistant_id)).version == 1
    # The versions all stay; the next update is numbered after the highest.
    fourth = await desk.assistants.update(made.assistant_id, name="v4")
    assert fourth.version == 4 and fourth.context == {"model": "offline"}
    with pytest.raises(AssistantNotFound):
        await desk.assistants.set_latest(made.assistant_id, 9)


async def test_concurrent_updates_take_distinct_version_numbers(desk: SupportDesk) -> None:
    made = await desk.assistants.create(GRAPH, name="busy")
    await asyncio.gather(*(desk.assistants.update(made.assistant_id, name=f"n{i}") for i in range(6)))
    assert [v.version for v in await desk.assistants.versions(made.assistant_id, limit=20)] == list(
        range(7, 0, -1)
    )


async def test_if_exists_raise_or_do_nothing(desk: SupportDesk) -> None:
    wanted = str(uuid.uuid4())
    first = await desk.assistants.create(GRAPH, assistant_id=wanted, name="first")
    with pytest.raises(AssistantExists):
        await desk.assistants.create(GRAPH, assistant_id=wanted, name="second")
    same = await desk.assistants.create(GRAPH, assistant_id=wanted, name="second", if_exists="do_nothing")
    assert same == first
    with pytest.raises(AssistantExists):
        await desk.assistants.create(GRAPH, assistant_id=SYSTEM)


async def test_delete_removes_it_and_its_versions(desk: SupportDesk) -> None:
    made = await desk.assistants.create(GRAPH, name="gone soon")
    await desk.assistants.update(made.assistant_id, name="still")
    await desk.delete_assistant(made.assistant_id)
    for call in (desk.assistants.get, desk.assistants.versions, desk.delete_assistant):
        with pytest.raises(AssistantNotFound):
            await call(made.assistant_id)
    assert await desk.assistants.count(AssistantQuery()) == 1


async def test_the_graphs_own_assistant_cannot_change(desk: SupportDesk) -> None:
    for change in (
        desk.assistants.update(SYSTEM, name="mine"),
        desk.assistants.update(GRAPH, name="mine"),
        desk.delete_assistant(SYSTEM),
    ):
        with pytest.raises(SystemAssistant):
            await change
    assert (await desk.assistants.set_latest(SYSTEM, 1)).version == 1
    with pytest.raises(AssistantNotFound):
        await desk.assistants.set_latest(SYSTEM, 2)
    assert [v.version for v in await desk.assistants.versions(SYSTEM)] == [1]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"graph_id": "nowhere"}, GraphNotFound),
        ({"assistant_id": "../x"}, InvalidArgument),
        ({"context": {"model": "gpt-4o"}}, InvalidArgument),
        ({"context": {"context_messages": 0}}, InvalidArgument),
        ({"context": {"context_messages": True}}, InvalidArgument),
        ({"context": {"system_prompt": ""}}, InvalidArgument),
        ({"context": {"tools": "lookup_order"}}, InvalidArgument),
        ({"config": {"configurable": {"model": "x:y"}}, "context": {"model": "x:y"}}, InvalidArgument),
        ({"config": {"banana": 1}}, InvalidArgument),
        ({"metadata": {"a": "\x00"}}, InvalidArgument),
        ({"name": ""}, InvalidArgument),
        ({"name": "x" * 201}, InvalidArgument),
        ({"if_exists": "update"}, InvalidArgument),
    ],
)
async def test_bad_assistants_are_refused_and_nothing_is_stored(desk: SupportDesk, kwargs, error) -> None:
    kwargs = dict(kwargs)
    graph_id = kwargs.pop("graph_id", GRAPH)
    with pytest.raises(error):
        await desk.assistants.create(graph_id, **kwargs)
    assert await desk.assistants.count(AssistantQuery()) == 1


async def test_another_process_on_the_database_sees_the_same_assistants(
    desk: SupportDesk, database_url: str
) -> None:
    made = await desk.assistants.create(GRAPH, name="shared", context={"context_messages": 3})
    async with open_desk(database_url=database_url) as other:
        assert await other.assistants.get(made.assistant_id) == made
        updated = await other.assistants.update(made.assistant_id, name="shared v2")
    assert await desk.assistants.get(made.assistant_id) == updated


async def test_two_processes_updating_at_once_take_distinct_versions(
    desk: SupportDesk, database_url: str
) -> None:
    """Each desk has its own connection (pool): the version number is taken where it is written."""
    made = await desk.assistants.create(GRAPH, name="contended")
    async with open_desk(database_url=database_url) as other:
        await asyncio.gather(
            *(
                (desk if i % 2 else other).assistants.update(made.assistant_id, metadata={"by": i})
                for i in range(8)
            )
        )
    versions = await desk.assistants.versions(made.assistant_id, limit=20)
    assert sorted(v.version for v in versions) == list(range(1, 10))
    assert (await desk.assistants.get(made.assistant_id)).version == 9
