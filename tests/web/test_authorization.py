"""Every route × owner / other user / agent / admin / no token / bad token.

Another user's thread is a 404 on every route (its existence is not leaked),
a missing or bad token is a 401, and nothing a refused caller does changes
the thread. An agent (a person of the support team) reads every thread but
writes only their own: on a customer's thread, every write is a 404 as for
any other user, so an agent never speaks as the customer; answering a
handed-over thread is their own route (`/reply`), refused (403) to customers.
"""

from __future__ import annotations

import json
import random

import httpx
import pytest

from threaddesk import SupportDesk
from threaddesk.assistants import AssistantQuery
from threaddesk.web.compat import ASSISTANT_ID

NO_RUN = "01a2240e-0000-7000-8000-000000000000"
RUN = {"assistant_id": "support_agent", "input": {"messages": [{"role": "user", "content": "hello"}]}}

# (method, path, json body, status for the owner or an admin)
THREAD_ROUTES = [
    ("GET", "/threads/{t}", None, 200),
    ("PATCH", "/threads/{t}", {"title": "renamed"}, 200),
    ("DELETE", "/threads/{t}", None, 204),
    ("POST", "/threads/{t}/messages", {"content": "hello"}, 200),
    ("GET", "/threads/{t}/messages", None, 200),
    ("GET", "/threads/{t}/state", None, 200),
    ("POST", "/threads/{t}/state/checkpoint", {"checkpoint": {}}, 200),
    ("POST", "/threads/{t}/history", {"limit": 5}, 200),
    ("GET", "/threads/{t}/runs", None, 200),
    ("POST", "/threads/{t}/runs", RUN, 200),
    ("GET", f"/threads/{{t}}/runs/{NO_RUN}", None, 404),
    ("GET", f"/threads/{{t}}/runs/{NO_RUN}/join", None, 404),
    ("DELETE", f"/threads/{{t}}/runs/{NO_RUN}", None, 404),
    ("POST", f"/threads/{{t}}/runs/{NO_RUN}/cancel", None, 404),
    ("GET", f"/threads/{{t}}/runs/{NO_RUN}/stream", None, 200),  # LangGraph's `error` event
    ("POST", "/threads/{t}/runs/wait", RUN, 200),
    ("POST", "/threads/{t}/runs/stream", RUN, 200),
    ("POST", "/threads/{t}/copy", None, 200),
    ("POST", "/threads/{t}/state", {"values": {"messages": []}, "as_node": "agent"}, 200),
]
OTHER_ROUTES = [
    ("POST", "/threads", {"title": "mine"}, 200),
    ("GET", "/threads", None, 200),
    ("POST", "/threads/search", {"limit": 10, "offset": 0}, 200),
    ("POST", "/threads/count", {}, 200),
    ("PUT", "/store/items", {"namespace": ["prefs"], "key": "k", "value": {"a": 1}}, 204),
    ("POST", "/store/items/search", {"namespace_prefix": []}, 200),
    ("POST", "/store/namespaces", {}, 200),
    ("DELETE", "/store/items", {"namespace": ["prefs"], "key": "k"}, 204),
    ("POST", "/threads/prune", {"thread_ids": ["alice-thread"], "strategy": "keep_latest"}, 200),
    ("POST", "/assistants/search", {"limit": 10, "offset": 0}, 200),
    ("POST", "/runs/wait", RUN, 200),
    ("POST", "/runs", RUN, 200),
    ("POST", "/runs/batch", [RUN], 200),
    ("POST", "/runs/stream", RUN, 200),
    ("POST", "/runs/cancel", {"status": "pending"}, 404),  # nothing pending to cancel
    ("GET", f"/assistants/{ASSISTANT_ID}", None, 200),
    ("POST", "/assistants/count", {}, 200),
    ("POST", f"/assistants/{ASSISTANT_ID}/versions", {}, 200),
    ("GET", f"/assistants/{ASSISTANT_ID}/graph", None, 200),
    ("GET", f"/assistants/{ASSISTANT_ID}/schemas", None, 200),
    ("GET", f"/assistants/{ASSISTANT_ID}/subgraphs", None, 200),
    ("GET", "/me", None, 200),
]
# A stored assistant (made by the `stored_assistant` fixture): every user reads and runs it, only admins
# change it.
STORED = "5f0c4d3e-0000-4000-8000-00000000a551"
STORED_READ_ROUTES = [
    ("GET", f"/assistants/{STORED}", None, 200),
    ("POST", f"/assistants/{STORED}/versions", {}, 200),
    ("GET", f"/assistants/{STORED}/graph", None, 200),
    ("GET", f"/assistants/{STORED}/schemas", None, 200),
    ("GET", f"/assistants/{STORED}/subgraphs", None, 200),
    ("POST", "/runs/wait", {**RUN, "assistant_id": STORED}, 200),
]
ADMIN_ROUTES = [
    ("POST", "/admin/cleanup", {"idle_for": "1d"}, 200),
    ("POST", "/assistants", {"graph_id": "support_agent", "name": "new"}, 200),
    ("PATCH", f"/assistants/{STORED}", {"name": "renamed"}, 200),
    ("POST", f"/assistants/{STORED}/latest", {"version": 1}, 200),
    ("DELETE", f"/assistants/{STORED}", None, 204),
]
REPLY_ROUTE = ("POST", "/threads/{t}/reply", {"content": "Hello from the team"}, 409)
ALL_ROUTES = THREAD_ROUTES + OTHER_ROUTES + STORED_READ_ROUTES + ADMIN_ROUTES + [REPLY_ROUTE]
# What an agent may do on a customer's thread: read it (the status as for its owner); the rest is a 404.
AGENT_READS = {
    ("GET", "/threads/{t}"),
    ("GET", "/threads/{t}/messages"),
    ("GET", "/threads/{t}/state"),
    ("POST", "/threads/{t}/state/checkpoint"),
    ("POST", "/threads/{t}/history"),
    ("GET", "/threads/{t}/runs"),
    ("GET", f"/threads/{{t}}/runs/{NO_RUN}"),
    ("GET", f"/threads/{{t}}/runs/{NO_RUN}/join"),
}

IDS = [f"{method} {path}" for method, path, _, _ in ALL_ROUTES]


@pytest.fixture
async def alices_thread(web_desk: SupportDesk, alice) -> str:
    await web_desk.threads.create("alice", "alice-thread", title="Alice's")
    await web_desk.send("alice-thread", "Hi, I'm Alice.", user_id="alice")
    return "alice-thread"


@pytest.fixture
async def stored_assistant(web_desk: SupportDesk) -> str:
    await web_desk.assistants.create(
        "support_agent", assistant_id=STORED, name="billing", context={"system_prompt": "Billing."}
    )
    return STORED


async def _call(client: httpx.AsyncClient, route, thread_id: str, headers: dict) -> httpx.Response:
    method, path, body, _ = route
    return await client.request(method, path.format(t=thread_id), json=body, headers=headers)


async def _intact(desk: SupportDesk, thread_id: str) -> None:
    thread = await desk.threads.get(thread_id)
    assert (thread.title, thread.message_count) == ("Alice's", 2)
    assert [m.content for m in await desk.history(thread_id)][0] == "Hi, I'm Alice."


@pytest.mark.parametrize("route", THREAD_ROUTES, ids=IDS[: len(THREAD_ROUTES)])
async def test_owner_and_admin_reach_the_thread(client, web_desk, alices_thread, alice, admin, route) -> None:
    for caller in (alice, admin):
        spare = route[1] == "/threads/{t}" and route[0] == "DELETE"
        if spare:
            await web_desk.threads.create("alice", "spare", title="spare")
        thread_id = "spare" if spare else alices_thread
        response = await _call(client, route, thread_id, caller.headers)
        assert response.status_code == route[3], (caller.name, response.text)


@pytest.fixture
async def agent(web_desk: SupportDesk):
    from support.live import Caller

    _, token = await web_desk.users.add("sam", role="agent")
    return Caller("sam", token)


@pytest.mark.parametrize("route", THREAD_ROUTES, ids=IDS[: len(THREAD_ROUTES)])
async def test_an_agent_reads_a_customers_thread_and_writes_nothing(
    client, web_desk, alices_thread, agent, route
) -> None:
    response = await _call(client, route, alices_thread, agent.headers)
    if (route[0], route[1]) in AGENT_READS:
        assert response.status_code == route[3], response.text
    else:
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "thread_not_found"
    await _intact(web_desk, alices_thread)
    assert (await web_desk.threads.get(alices_thread)).user_id == "alice"


async def test_the_reply_route_by_role(client, web_desk, alices_thread, alice, bob, agent, admin) -> None:
    """Only agents and admins answer (409 here: the thread waits for nobody); customers get 403."""
    for caller, status, code in [
        (alice, 403, "forbidden"),
        (bob, 403, "forbidden"),
        (agent, 409, "not_interrupted"),
        (admin, 409, "not_interrupted"),
    ]:
        response = await _call(client, REPLY_ROUTE, alices_thread, caller.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), caller.name
        await _intact(web_desk, alices_thread)
    missing = await _call(client, REPLY_ROUTE, "nobody", alice.headers)
    assert missing.status_code == 403  # a customer learns nothing of which threads exist


@pytest.mark.parametrize(
    "route", OTHER_ROUTES, ids=IDS[len(THREAD_ROUTES) : len(THREAD_ROUTES) + len(OTHER_ROUTES)]
)
async def test_an_agent_uses_every_other_route_as_a_user(
    client, web_desk, alices_thread, agent, route
) -> None:
    response = await _call(client, route, "agent-own", agent.headers)
    assert response.status_code == route[3], response.text
    await _intact(web_desk, alices_thread)


async def test_an_agent_is_no_admin(client, web_desk, alices_thread, agent) -> None:
    response = await client.post("/admin/cleanup", json={"idle_for": "1s"}, headers=agent.headers)
    assert response.status_code == 403
    everyone = (await client.get("/threads", headers=agent.headers)).json()["threads"]
    assert everyone == []  # lists are their own, but for the handoff queue (status=interrupted)
    searched = (await client.post("/threads/search", json={"limit": 10}, headers=agent.headers)).json()
    assert searched == []


@pytest.mark.parametrize("route", THREAD_ROUTES, ids=IDS[: len(THREAD_ROUTES)])
async def test_another_user_gets_404_and_changes_nothing(client, web_desk, alices_thread, bob, route) -> None:
    response = await _call(client, route, alices_thread, bob.headers)
    assert response.status_code == 404, response.text
    assert response.json() == {
        "error": {"code": "thread_not_found", "message": f"thread {alices_thread!r} not found"}
    }
    await _intact(web_desk, alices_thread)
    # Byte for byte the answer for an id nobody has: the same id once the thread is gone.
    await web_desk.threads.delete(alices_thread)
    missing = await _call(client, route, alices_thread, bob.headers)
    assert (missing.status_code, missing.content) == (response.status_code, response.content)
    per_response = {"date", "x-request-id"}
    assert {k: v for k, v in missing.headers.items() if k not in per_response} == {
        k: v for k, v in response.headers.items() if k not in per_response
    }


@pytest.mark.parametrize("path", ["/threads/{t}/runs/wait", "/threads/{t}/runs/stream"])
async def test_a_run_creating_if_missing_on_another_users_thread_is_404(
    client, web_desk, alices_thread, alice, bob, admin, path
) -> None:
    """`if_not_exists: "create"` answers as every other route: someone else's thread is not found."""
    run = {**RUN, "if_not_exists": "create"}
    response = await client.post(path.format(t=alices_thread), json=run, headers=bob.headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "thread_not_found"
    await _intact(web_desk, alices_thread)
    # An admin's run uses the customer's thread as it is (it stays Alice's).
    response = await client.post(path.format(t=alices_thread), json=run, headers=admin.headers)
    assert response.status_code == 200, response.text
    thread = await web_desk.threads.get(alices_thread)
    assert (thread.user_id, thread.message_count) == ("alice", 4)
    # A free id is created for the caller.
    response = await client.post(path.format(t="bobs-new"), json=run, headers=bob.headers)
    assert response.status_code == 200, response.text
    assert (await web_desk.threads.get("bobs-new")).user_id == "bob"


async def test_a_background_run_creating_if_missing_on_another_users_thread_is_404(
    client, web_desk, alices_thread, bob
) -> None:
    run = {**RUN, "if_not_exists": "create"}
    response = await client.post(f"/threads/{alices_thread}/runs", json=run, headers=bob.headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "thread_not_found"
    await _intact(web_desk, alices_thread)


@pytest.mark.parametrize("route", ALL_ROUTES, ids=IDS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-Api-Key": "wrong"}, {"Authorization": "Basic YTpi"}],
    ids=["no-token", "bad-bearer", "bad-api-key", "wrong-scheme"],
)
async def test_no_or_bad_token_is_401(client, web_desk, alices_thread, route, headers) -> None:
    response = await _call(client, route, alices_thread, headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    await _intact(web_desk, alices_thread)


async def test_x_api_key_authenticates_like_bearer(client, alices_thread, alice) -> None:
    response = await client.get(f"/threads/{alices_thread}", headers={"X-Api-Key": alice.token})
    assert response.status_code == 200 and response.json()["user_id"] == "alice"


async def test_revoked_token_is_401(client, web_desk, alices_thread, alice) -> None:
    await web_desk.users.revoke("alice")
    response = await client.get("/threads", headers=alice.headers)
    assert response.status_code == 401


async def test_lists_show_users_their_own_threads_and_admins_all(client, alices_thread, bob, admin) -> None:
    await client.post("/threads", json={"thread_id": "bob-thread"}, headers=bob.headers)
    for method, path, body in [("GET", "/threads", None), ("POST", "/threads/search", {"limit": 10})]:
        mine = await client.request(method, path, json=body, headers=bob.headers)
        everyone = await client.request(method, path, json=body, headers=admin.headers)
        listed = [r.json()["threads"] if method == "GET" else r.json() for r in (mine, everyone)]
        assert {t["thread_id"] for t in listed[0]} == {"bob-thread"}
        assert {t["thread_id"] for t in listed[1]} == {"bob-thread", alices_thread}
    by_id = {"ids": [alices_thread, "bob-thread"]}
    assert [
        t["thread_id"] for t in (await client.post("/threads/search", json=by_id, headers=bob.headers)).json()
    ] == ["bob-thread"]
    values = {"values": {"messages": [{"content": "Hi, I'm Alice."}]}}
    assert (await client.post("/threads/search", json=values, headers=bob.headers)).json() == []
    assert (await client.post("/threads/count", json=values, headers=bob.headers)).json() == 0
    assert (await client.post("/threads/count", json=values, headers=admin.headers)).json() == 1
    assert (await client.post("/threads/count", json={}, headers=bob.headers)).json() == 1


async def test_prune_skips_another_users_threads_like_missing_ones(
    client, web_desk, alices_thread, bob
) -> None:
    for ids in ([alices_thread], ["no-such-thread"]):
        response = await client.post("/threads/prune", json={"thread_ids": ids}, headers=bob.headers)
        assert (response.status_code, response.json()) == (200, {"pruned_count": 0})
    await _intact(web_desk, alices_thread)


async def test_a_copy_belongs_to_whoever_copied(client, alices_thread, alice, admin) -> None:
    for caller in (alice, admin):
        copy = (await client.post(f"/threads/{alices_thread}/copy", headers=caller.headers)).json()
        assert copy["user_id"] == caller.name and copy["message_count"] == 2
        mine = await client.get(f"/threads/{copy['thread_id']}/messages", headers=caller.headers)
        assert mine.json()["messages"][0]["content"] == "Hi, I'm Alice."


async def test_cleanup_is_admin_only(client, web_desk, alices_thread, alice) -> None:
    response = await client.post("/admin/cleanup", json={"idle_for": "1s"}, headers=alice.headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    await _intact(web_desk, alices_thread)


@pytest.mark.parametrize("route", ADMIN_ROUTES[1:], ids=[f"{m} {p}" for m, p, _, _ in ADMIN_ROUTES[1:]])
async def test_only_admins_manage_assistants(client, web_desk, stored_assistant, alice, admin, route) -> None:
    """A user's change is 403 `forbidden` and changes nothing; an admin's goes through."""
    before = await web_desk.assistants.count(AssistantQuery())
    response = await _call(client, route, "-", alice.headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", response.text
    kept = await web_desk.assistants.get(stored_assistant)
    assert (kept.name, kept.version) == ("billing", 1)
    assert await web_desk.assistants.count(AssistantQuery()) == before
    response = await _call(client, route, "-", admin.headers)
    assert response.status_code == route[3], response.text


@pytest.mark.parametrize("route", STORED_READ_ROUTES, ids=[f"{m} {p}" for m, p, _, _ in STORED_READ_ROUTES])
async def test_every_user_reads_and_runs_a_stored_assistant(
    client, stored_assistant, alice, bob, route
) -> None:
    for caller in (alice, bob):
        response = await _call(client, route, "-", caller.headers)
        assert response.status_code == route[3], (caller.name, response.text)


async def test_me_names_the_caller(client, alice, admin) -> None:
    assert (await client.get("/me", headers=alice.headers)).json() == {
        "name": "alice",
        "is_admin": False,
        "role": "customer",
    }
    assert (await client.get("/me", headers=admin.headers)).json() == {
        "name": "root",
        "is_admin": True,
        "role": "admin",
    }


async def test_health_probes_need_no_token(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_listings_never_show_another_users_threads(client, web_desk, admin, seed) -> None:
    """Random owners and tags; every page of every listing holds exactly the caller's threads."""
    rng = random.Random(seed)
    headers = {}
    for name in ("ann", "ben", "cat", "dan"):
        headers[name] = {"Authorization": f"Bearer {(await web_desk.users.add(name))[1]}"}
    threads: dict[str, tuple[str, str]] = {}  # thread id -> (owner, tier)
    for index in range(rng.randint(20, 40)):
        owner, tier = rng.choice(list(headers)), rng.choice(["gold", "free"])
        body = {"title": f"t{index}", "metadata": {"tier": tier}}
        if rng.random() < 0.5:
            body["thread_id"] = f"{rng.choice(['order', 'case'])}-{index}"
        created = await client.post("/threads", json=body, headers=headers[owner])
        threads[created.json()["thread_id"]] = (owner, tier)
    for name, caller_headers in [*headers.items(), ("root", admin.headers)]:
        for tier in (None, "gold"):
            wanted = {
                tid
                for tid, (owner, its_tier) in threads.items()
                if name in ("root", owner) and tier in (None, its_tier)
            }
            assert await _listed_by_pages(client, caller_headers, tier, rng.randint(1, 7)) == wanted
            assert await _searched_by_offsets(client, caller_headers, tier, rng.randint(1, 7)) == wanted


async def _listed_by_pages(client, headers, tier: str | None, size: int) -> set[str]:
    found: list[str] = []
    params: dict = {"limit": size, **({"metadata": json.dumps({"tier": tier})} if tier else {})}
    while True:
        page = (await client.get("/threads", params=params, headers=headers)).json()
        found += [thread["thread_id"] for thread in page["threads"]]
        if not page["next_cursor"]:
            assert len(found) == len(set(found))
            return set(found)
        params["cursor"] = page["next_cursor"]


async def _searched_by_offsets(client, headers, tier: str | None, size: int) -> set[str]:
    found: list[str] = []
    while True:
        body = {"limit": size, "offset": len(found), **({"metadata": {"tier": tier}} if tier else {})}
        page = (await client.post("/threads/search", json=body, headers=headers)).json()
        found += [thread["thread_id"] for thread in page]
        if len(page) < size:
            assert len(found) == len(set(found))
            return set(found)


async def test_store_items_are_each_users_own(client, alice, bob, admin) -> None:
    """Another user's item is a 404 byte for byte as a missing one; lists and searches never show it."""
    item = {"namespace": ["prefs"], "key": "profile", "value": {"name": "Alice", "language": "fr"}}
    assert (await client.put("/store/items", json=item, headers=alice.headers)).status_code == 204
    params = {"namespace": "prefs", "key": "profile"}
    mine = await client.get("/store/items", params=params, headers=alice.headers)
    assert mine.status_code == 200 and mine.json()["value"] == item["value"]
    assert mine.json()["namespace"] == ["prefs"]
    for caller in (bob, admin):
        theirs = await client.get("/store/items", params=params, headers=caller.headers)
        missing = await client.get("/store/items", params={**params, "key": "nobody"}, headers=alice.headers)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "item_not_found"
        assert theirs.json() == {
            "error": {"code": "item_not_found", "message": "no item 'profile' in namespace ['prefs']"}
        }
        searched = await client.post(
            "/store/items/search", json={"namespace_prefix": []}, headers=caller.headers
        )
        assert searched.json() == {"items": []}
        listed = await client.post("/store/namespaces", json={}, headers=caller.headers)
        assert listed.json() == {"namespaces": []}
        gone = await client.request("DELETE", "/store/items", json=item, headers=caller.headers)
        assert gone.status_code == 204  # deletes their own (absent) item, not alice's
    assert (await client.get("/store/items", params=params, headers=alice.headers)).status_code == 200
