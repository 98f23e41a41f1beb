"""The official `langgraph-sdk` client against a live threaddesk on 127.0.0.1."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client
from langgraph_sdk.errors import AuthenticationError, ConflictError, NotFoundError

from threaddesk.web.compat import ASSISTANT_ID


def _id() -> str:
    return f"sdk-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def alice_client(live_server):
    return get_client(url=live_server.url, api_key=live_server.alice.token)


@pytest.fixture
def bob_client(live_server):
    return get_client(url=live_server.url, headers={"Authorization": f"Bearer {live_server.bob.token}"})


async def test_threads_create_get_update_delete(alice_client) -> None:
    thread_id = _id()
    created = await alice_client.threads.create(thread_id=thread_id, metadata={"tier": "gold"})
    assert created["thread_id"] == thread_id and created["metadata"] == {"tier": "gold"}
    assert created["status"] == "idle"
    with pytest.raises(ConflictError):
        await alice_client.threads.create(thread_id=thread_id)
    same = await alice_client.threads.create(thread_id=thread_id, if_exists="do_nothing")
    assert same["created_at"] == created["created_at"]

    updated = await alice_client.threads.update(thread_id, metadata={"step": 2})
    assert updated["metadata"] == {"tier": "gold", "step": 2}
    assert (await alice_client.threads.get(thread_id))["metadata"] == {"tier": "gold", "step": 2}

    await alice_client.threads.delete(thread_id)
    with pytest.raises(NotFoundError):
        await alice_client.threads.get(thread_id)


async def test_threads_search_by_metadata_with_limit_and_offset(alice_client, bob_client) -> None:
    tag = uuid.uuid4().hex
    ids = [_id() for _ in range(3)]
    for thread_id in ids:
        await alice_client.threads.create(thread_id=thread_id, metadata={"batch": tag})
    await bob_client.threads.create(thread_id=_id(), metadata={"batch": tag})

    found = await alice_client.threads.search(metadata={"batch": tag}, limit=10)
    assert sorted(t["thread_id"] for t in found) == sorted(ids)
    first = await alice_client.threads.search(metadata={"batch": tag}, limit=2)
    rest = await alice_client.threads.search(metadata={"batch": tag}, limit=2, offset=2)
    assert len(first) == 2 and len(rest) == 1
    assert {t["thread_id"] for t in first + rest} == set(ids)
    assert len(await bob_client.threads.search(metadata={"batch": tag})) == 1


async def test_runs_wait_and_get_state_remember_per_thread(alice_client) -> None:
    thread_id = (await alice_client.threads.create())["thread_id"]
    values = await alice_client.runs.wait(
        thread_id, "support_agent", input={"messages": [{"role": "user", "content": "Hi, I'm Alice."}]}
    )
    assert [m["type"] for m in values["messages"]] == ["human", "ai"]
    assert values["messages"][-1]["content"] == "Hello Alice! How can I help?"
    values = await alice_client.runs.wait(
        thread_id, ASSISTANT_ID, input={"messages": [{"role": "user", "content": "What's my name?"}]}
    )
    assert values["messages"][-1]["content"] == "Your name is Alice!"

    state = await alice_client.threads.get_state(thread_id)
    assert state["values"] == values
    assert state["next"] == [] and state["checkpoint"]["thread_id"] == thread_id
    assert state["checkpoint"]["checkpoint_id"]
    thread = await alice_client.threads.get(thread_id)
    assert thread["values"] == values and thread["status"] == "idle"


async def test_runs_stream_values(alice_client) -> None:
    thread_id = (await alice_client.threads.create())["thread_id"]
    parts = [
        part
        async for part in alice_client.runs.stream(
            thread_id,
            "support_agent",
            input={"messages": [{"role": "user", "content": "I'm Bob"}]},
            stream_mode="values",
        )
    ]
    assert [p.event for p in parts] == ["metadata", "values", "values"]
    assert parts[0].data["run_id"]
    assert [m["content"] for m in parts[1].data["messages"]] == ["I'm Bob"]
    final = parts[-1].data["messages"]
    assert [m["type"] for m in final] == ["human", "ai"] and final[-1][
        "content"
    ] == "Hello Bob! How can I help?"
    assert (await alice_client.threads.get_state(thread_id))["values"]["messages"] == final


async def test_runs_stream_messages_tuple(alice_client) -> None:
    thread_id = (await alice_client.threads.create())["thread_id"]
    parts = [
        part
        async for part in alice_client.runs.stream(
            thread_id,
            "support_agent",
            input={"messages": [{"role": "user", "content": "Hello"}]},
            stream_mode="messages-tuple",
        )
    ]
    assert parts[0].event == "metadata"
    chunks = [p.data for p in parts[1:]]
    assert {p.event for p in parts[1:]} == {"messages"} and len(chunks) > 1
    assert all(chunk["type"] == "AIMessageChunk" and meta["thread_id"] == thread_id for chunk, meta in chunks)
    stored = (await alice_client.threads.get_state(thread_id))["values"]["messages"][-1]["content"]
    assert "".join(chunk["content"] for chunk, _ in chunks) == stored == "Hello! How can I help you today?"


async def test_assistants_search_lists_the_support_agent(alice_client) -> None:
    assistants = await alice_client.assistants.search()
    assert [(a["assistant_id"], a["graph_id"]) for a in assistants] == [(ASSISTANT_ID, "support_agent")]
    with pytest.raises(NotFoundError):  # an unknown graph is a 404, as on LangGraph's server
        await alice_client.assistants.search(graph_id="other")


async def test_errors_map_to_the_sdk_exceptions(live_server, alice_client, bob_client) -> None:
    thread_id = (await alice_client.threads.create())["thread_id"]
    with pytest.raises(NotFoundError):
        await bob_client.threads.get(thread_id)
    with pytest.raises(NotFoundError):
        await bob_client.threads.get_state(thread_id)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await bob_client.runs.wait(
            thread_id, "support_agent", input={"messages": [{"role": "user", "content": "x"}]}
        )
    assert caught.value.response.status_code == 404
    with pytest.raises(AuthenticationError):
        await get_client(url=live_server.url, api_key="not-a-token").threads.search()
    # runs.wait raises plain httpx errors (the SDK skips its typed mapping there).
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await alice_client.runs.wait(
            thread_id, "no-such-agent", input={"messages": [{"role": "user", "content": "x"}]}
        )
    assert caught.value.response.status_code == 422  # neither a UUID nor a graph name, as on LangGraph
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await alice_client.runs.wait(
            thread_id, str(uuid.uuid4()), input={"messages": [{"role": "user", "content": "x"}]}
        )
    assert caught.value.response.json()["error"]["code"] == "assistant_not_found"
    with pytest.raises(NotFoundError):
        await alice_client.assistants.get("no-such-agent")


def test_sync_client_round_trip(live_server) -> None:
    client = get_sync_client(url=live_server.url, api_key=live_server.alice.token)
    thread = client.threads.create(metadata={"via": "sync"})
    values = client.runs.wait(
        thread["thread_id"], "support_agent", input={"messages": [{"role": "user", "content": "I'm Carol"}]}
    )
    assert values["messages"][-1]["content"] == "Hello Carol! How can I help?"
    client.threads.delete(thread["thread_id"])


async def test_admins_manage_assistants_and_users_run_them(live_server, alice_client) -> None:
    from langgraph_sdk.errors import PermissionDeniedError

    root = get_client(url=live_server.url, api_key=live_server.root.token)
    billing = await root.assistants.create(
        "support_agent",
        name=f"billing-{_id()}",
        context={"system_prompt": "You handle billing.", "context_messages": 10},
        metadata={"team": "billing"},
    )
    assert billing["version"] == 1 and billing["config"] == {"configurable": billing["context"]}
    with pytest.raises(PermissionDeniedError):
        await alice_client.assistants.create("support_agent", name="mine")
    with pytest.raises(PermissionDeniedError):
        await alice_client.assistants.update(billing["assistant_id"], name="mine")
    assert (await alice_client.assistants.get(billing["assistant_id"]))["name"] == billing["name"]
    found = await alice_client.assistants.search(metadata={"team": "billing"})
    assert billing["assistant_id"] in [a["assistant_id"] for a in found]

    thread_id = str(uuid.uuid4())
    values = await alice_client.runs.wait(
        thread_id,
        billing["assistant_id"],
        input={"messages": [{"role": "user", "content": "Hi, I'm Ada."}]},
        if_not_exists="create",
    )
    assert "Ada" in values["messages"][-1]["content"]
    thread = await alice_client.threads.get(thread_id)
    assert thread["metadata"]["assistant_id"] == billing["assistant_id"]

    updated = await root.assistants.update(billing["assistant_id"], context={"system_prompt": "Billing v2."})
    assert updated["version"] == 2 and updated["context"] == {"system_prompt": "Billing v2."}
    versions = await alice_client.assistants.get_versions(billing["assistant_id"])
    assert [v["version"] for v in versions] == [2, 1]
    back = await root.assistants.set_latest(billing["assistant_id"], 1)
    assert back["version"] == 1 and back["context"]["system_prompt"] == "You handle billing."
    with pytest.raises(ConflictError):
        await root.assistants.delete(ASSISTANT_ID)
    await root.assistants.delete(billing["assistant_id"])
    with pytest.raises(NotFoundError):
        await alice_client.assistants.get(billing["assistant_id"])
