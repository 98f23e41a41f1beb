"""Custom authentication the LangGraph way (`THREADDESK_AUTH_PATH` naming a `langgraph_sdk.Auth`).

The fixture `custom_auth/auth.py` resolves bearer tokens of an outside identity
system, stamps each new thread with the creator's org and filters every other
thread action by it. Ownership (another user's thread is a 404) holds on top.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError
from support.postgres import recycled_postgres_schema

from threaddesk import Settings, SupportDesk
from threaddesk.web import create_app
from threaddesk.web.compat import ASSISTANT_ID
from threaddesk.web.custom_auth import CustomAuth, CustomAuthError, load_auth, matches

AUTH_FILE = Path(__file__).parent / "custom_auth" / "auth.py"
AUTH_PATH = f"{AUTH_FILE}:auth"
ANN = {"Authorization": "Bearer token-ann"}
BEN = {"Authorization": "Bearer token-ben"}
CY = {"Authorization": "Bearer token-cy"}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The filters read thread metadata from the registry: both backends'."""
    if request.param == "postgres":
        with recycled_postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "desk.sqlite")


@pytest.fixture
async def client(settings: Settings, web_desk: SupportDesk):
    app = create_app(settings, desk=web_desk, auth=CustomAuth.load(AUTH_PATH))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


async def test_the_authenticate_function_decides_who_asks(client) -> None:
    missing = await client.get("/threads")
    assert missing.status_code == 401
    assert missing.json()["error"] == {"code": "unauthorized", "message": "unknown token"}
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/threads", headers={"Authorization": "Bearer nope"})).status_code == 401
    bad_name = await client.get("/threads", headers={"Authorization": "Bearer token-bad-name"})
    assert bad_name.status_code == 401 and "custom auth identity" in bad_name.json()["error"]["message"]
    me = await client.get("/me", headers=ANN)
    assert me.status_code == 200 and me.json()["name"] == "ann"


async def test_a_create_handler_stamps_metadata_and_can_refuse(client) -> None:
    created = await client.post(
        "/threads", json={"thread_id": "t-ann-1", "metadata": {"tier": "gold"}}, headers=ANN
    )
    assert created.status_code == 200
    assert created.json()["metadata"] == {"tier": "gold", "org": "acme"}
    refused = await client.post("/threads", json={"thread_id": "t-cy-1"}, headers=CY)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "read-only users cannot start threads"
    assert (await client.get("/threads/t-cy-1", headers=ANN)).status_code == 404  # nothing was stored


async def test_a_filter_hides_threads_like_missing_ones(client) -> None:
    for thread_id in ("t-a", "t-b"):
        assert (await client.post("/threads", json={"thread_id": thread_id}, headers=ANN)).status_code == 200
    # The handler lets ann move a thread to another org (the thread matches when she does it) ...
    moved = await client.patch("/threads/t-b", json={"metadata": {"org": "globex"}}, headers=ANN)
    assert moved.status_code == 200
    # ... and from then on its filter hides it: 404 byte for byte like a thread that never existed.
    hidden = await client.get("/threads/t-b", headers=ANN)
    missing = await client.get("/threads/t-nothing", headers=ANN)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "thread_not_found"
    for route in ("/threads/t-b/state", "/threads/t-b/messages"):
        assert (await client.get(route, headers=ANN)).status_code == 404
    assert (await client.post("/threads/t-b/history", json={}, headers=ANN)).status_code == 404
    run = {"assistant_id": ASSISTANT_ID, "input": {"messages": [{"role": "user", "content": "hi"}]}}
    assert (await client.post("/threads/t-b/runs/wait", json=run, headers=ANN)).status_code == 404
    assert (await client.delete("/threads/t-b", headers=ANN)).status_code == 404

    searched = await client.post("/threads/search", json={}, headers=ANN)
    assert [t["thread_id"] for t in searched.json()] == ["t-a"]
    # The caller's own metadata filter and the auth filter both hold.
    contradicting = await client.post("/threads/search", json={"metadata": {"org": "globex"}}, headers=ANN)
    assert contradicting.json() == []
    assert (await client.post("/threads/count", json={}, headers=ANN)).json() == 1
    listed = await client.get("/threads", headers=ANN)
    assert [t["thread_id"] for t in listed.json()["threads"]] == ["t-a"]
    assert (await client.get("/threads/t-a", headers=ANN)).status_code == 200
    waited = await client.post("/threads/t-a/runs/wait", json=run, headers=ANN)
    assert waited.status_code == 200, waited.text


async def test_ownership_still_holds_on_top(client) -> None:
    await client.post("/threads", json={"thread_id": "t-anns"}, headers=ANN)
    # Same org, so the filter would let ben in; the thread is ann's, so it is a 404 for him.
    assert (await client.get("/threads/t-anns", headers=BEN)).status_code == 404
    assert (await client.post("/threads/search", json={}, headers=BEN)).json() == []


async def test_threaddesk_tokens_keep_working_beside_it(client, web_desk: SupportDesk) -> None:
    _, admin_token = await web_desk.users.add("root", admin=True)
    await client.post("/threads", json={"thread_id": "t-ann-x"}, headers=ANN)
    # The custom authenticate refuses (401) the threaddesk token; the token then names the caller.
    as_admin = await client.get("/threads/t-ann-x", headers={"Authorization": f"Bearer {admin_token}"})
    assert as_admin.status_code == 200
    assert (await client.get("/me", headers={"X-Api-Key": admin_token})).json()["name"] == "root"


async def test_store_handlers_refuse(client) -> None:
    item = {"namespace": ["notes"], "key": "k", "value": {"v": 1}}
    assert (await client.put("/store/items", json=item, headers=CY)).status_code == 403
    assert (await client.put("/store/items", json=item, headers=ANN)).status_code == 204


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "auth.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
        ("auth = 42\n", "is not a langgraph_sdk.Auth"),
        ("from langgraph_sdk import Auth\nauth = Auth()\n", "no @auth.authenticate"),
        (
            """
            from langgraph_sdk import Auth
            auth = Auth()
            @auth.authenticate
            async def who(token):
                return "x"
            """,
            "unsupported parameters ['token']",
        ),
    ],
)
def test_a_broken_auth_file_fails_at_load_naming_it(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(CustomAuthError, match="auth path") as caught:
        load_auth("./auth.py:auth", tmp_path)
    assert expected in str(caught.value)
    with pytest.raises(CustomAuthError, match="no file"):
        load_auth("./missing.py:auth", tmp_path)
    with pytest.raises(CustomAuthError, match="use"):
        load_auth(str(path), None)


def test_create_app_loads_the_setting(tmp_path: Path) -> None:
    with pytest.raises(CustomAuthError, match="is not a langgraph_sdk.Auth"):
        create_app(Settings(database_url="memory", auth_path=str(_write(tmp_path, "auth = 1\n")) + ":auth"))


def test_filters_have_langgraphs_semantics() -> None:
    metadata = {"org": "acme", "tags": ["a", "b"]}
    assert matches(metadata, {"org": "acme"}) and not matches(metadata, {"org": "globex"})
    assert matches(metadata, {"org": {"$eq": "acme"}}) and matches(metadata, {"tags": {"$contains": "a"}})
    assert not matches(metadata, {"tags": {"$contains": ["a", "z"]}})
    assert matches(metadata, {"$or": [{"org": "globex"}, {"tags": {"$contains": "b"}}]})
    assert not matches(metadata, {"$and": [{"org": "acme"}, {"missing": 1}]})


async def test_through_langgraph_sdk(fresh_live_server) -> None:
    live = fresh_live_server([], auth_path=AUTH_PATH)
    ann = get_client(url=live.url, headers=ANN)
    thread = await ann.threads.create(metadata={"tier": "gold"})
    assert thread["metadata"]["org"] == "acme"
    result = await ann.runs.wait(
        thread["thread_id"], ASSISTANT_ID, input={"messages": [{"role": "user", "content": "hello"}]}
    )
    assert result["messages"][-1]["type"] == "ai"
    found = await ann.threads.search()
    assert thread["thread_id"] in [t["thread_id"] for t in found]
    await ann.threads.update(thread["thread_id"], metadata={"org": "globex"})
    with pytest.raises(NotFoundError):
        await ann.threads.get(thread["thread_id"])
    assert thread["thread_id"] not in [t["thread_id"] for t in await ann.threads.search()]
    ben = get_client(url=live.url, headers=BEN)
    with pytest.raises(NotFoundError):
        await ben.threads.get_state(thread["thread_id"])


EXPECTED = {
    ("POST", "/threads"): ("threads", "create"),
    ("GET", "/threads"): ("threads", "search"),
    ("POST", "/threads/search"): ("threads", "search"),
    ("POST", "/threads/count"): ("threads", "search"),
    ("POST", "/threads/prune"): ("threads", "delete"),
    ("GET", "/threads/{thread_id}"): ("threads", "read"),
    ("PATCH", "/threads/{thread_id}"): ("threads", "update"),
    ("DELETE", "/threads/{thread_id}"): ("threads", "delete"),
    ("POST", "/threads/{thread_id}/state"): ("threads", "update"),
    ("POST", "/threads/{thread_id}/history"): ("threads", "read"),
    ("POST", "/threads/{thread_id}/runs/stream"): ("threads", "create_run"),
    ("POST", "/threads/{thread_id}/messages"): ("threads", "create_run"),
    ("GET", "/threads/{thread_id}/runs/{run_id}/join"): ("threads", "read"),
    ("DELETE", "/threads/{thread_id}/runs/{run_id}"): ("threads", "delete"),
    ("POST", "/runs/stream"): ("threads", "create_run"),
    ("POST", "/runs/cancel"): ("threads", "update"),
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"): ("threads", "update"),
    ("PUT", "/store/items"): ("store", "put"),
    ("GET", "/store/items"): ("store", "get"),
    ("POST", "/store/items/search"): ("store", "search"),
    ("POST", "/store/namespaces"): ("store", "list_namespaces"),
    ("POST", "/assistants/search"): ("assistants", "search"),
    ("GET", "/assistants/{assistant_id}"): ("assistants", "read"),
}


def test_every_route_is_one_of_langgraphs_resources_or_none() -> None:
    """Routes added later are classified by the same rules: a thread route always names its thread."""
    from threaddesk.web.custom_auth import classify
    from threaddesk.web.routes import ROUTERS

    seen = {}
    for route in [route for router in ROUTERS for route in router.routes]:
        for method in route.methods:
            params = {"thread_id": "t-1", "run_id": "r-1", "assistant_id": "a-1"}
            access = classify(method, route.path, params, {"metadata": {"k": "v"}, "namespace": ["n"]})
            head = route.path.split("/")[1]
            if head in ("threads", "runs", "assistants", "store"):
                assert access is not None, (method, route.path)
                if "{thread_id}" in route.path:
                    assert access.resource == "threads" and access.value["thread_id"] == "t-1"
                seen[(method, route.path)] = (access.resource, access.action)
            else:
                assert access is None, (method, route.path)
    for key, expected in EXPECTED.items():
        if key in seen:  # a route another build may not have
            assert seen[key] == expected, key
    assert len(set(EXPECTED) & set(seen)) >= 15


VARIANTS = """
from langgraph_sdk import Auth

auth = Auth()


class Person:
    identity = "obj-user"
    permissions = ["p"]


@auth.authenticate
def who(headers, request, method, path, query_params):  # sync, and every kind of parameter
    kind = headers.get(b"x-kind", b"").decode()
    assert request.url.path == path and method in ("GET", "POST")
    if kind == "tuple":
        return (["write"], {"identity": "tuple-user"})
    if kind == "object":
        return Person()
    if kind == "query":
        return query_params["as"]
    if kind == "forbidden":
        raise Auth.exceptions.HTTPException(status_code=403, detail="not today")
    raise ValueError("malformed credential")
"""


@pytest.mark.parametrize(
    ("headers", "status", "name"),
    [
        ({"X-Kind": "tuple"}, 200, "tuple-user"),
        ({"X-Kind": "object"}, 200, "obj-user"),
        ({"X-Kind": "forbidden"}, 403, None),
        ({"X-Kind": "broken"}, 401, None),
    ],
)
async def test_authenticate_gets_what_it_names_and_may_answer_any_way(
    tmp_path: Path, web_desk: SupportDesk, settings: Settings, headers: dict, status: int, name: str | None
) -> None:
    path = _write(tmp_path, VARIANTS)
    app = create_app(settings, desk=web_desk, auth=CustomAuth.load(f"{path}:auth"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.get("/me", headers=headers)
        assert answer.status_code == status, answer.text
        if name:
            assert answer.json()["name"] == name
        else:
            assert answer.json()["error"]["message"] in ("not today", "authentication failed")
        by_query = await client.get("/me", params={"as": "q-user"}, headers={"X-Kind": "query"})
        assert by_query.json()["name"] == "q-user"


def test_serve_stops_at_start_on_a_broken_auth_file(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _write(tmp_path, "import not_a_module_anywhere\n")
    env = {**os.environ, "THREADDESK_AUTH_PATH": "./auth.py:auth"}
    command = [
        sys.executable,
        "-m",
        "threaddesk.cli",
        "--db",
        str(tmp_path / "d.sqlite"),
        "serve",
        "--port",
        "1",
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    error = [line for line in done.stderr.splitlines() if line.strip()]
    assert error == [
        "error: auth path './auth.py:auth': ModuleNotFoundError: No module named 'not_a_module_anywhere'"
    ]
    assert not (tmp_path / "d.sqlite").exists()  # stopped before opening anything


def test_serve_takes_the_auth_section_of_its_config_file(tmp_path: Path) -> None:
    """`auth.path` in langgraph.json is loaded like THREADDESK_AUTH_PATH (a broken one stops serve)."""
    import json
    import os
    import subprocess
    import sys

    _write(tmp_path, "import not_a_module_anywhere\n")
    graph = tmp_path / "graph.py"
    graph.write_text(
        "from langgraph.graph import START, MessagesState, StateGraph\n"
        "builder = StateGraph(MessagesState)\n"
        "builder.add_node('echo', lambda state: {'messages': []})\n"
        "builder.add_edge(START, 'echo')\n"
        "graph = builder.compile()\n"
    )
    (tmp_path / "langgraph.json").write_text(
        json.dumps({"graphs": {"echo": "./graph.py:graph"}, "auth": {"path": "./auth.py:auth"}})
    )
    env = {key: value for key, value in os.environ.items() if key != "THREADDESK_AUTH_PATH"}
    command = [sys.executable, "-m", "threaddesk.cli", "--db", str(tmp_path / "d.sqlite")]
    command += ["serve", "--config", str(tmp_path / "langgraph.json"), "--port", "1"]
    done = subprocess.run(command, cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    error = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(error) == 1 and "not_a_module_anywhere" in error[0], done.stderr
    assert not (tmp_path / "d.sqlite").exists()


DEFAULT_DENY = """
from langgraph_sdk import Auth

auth = Auth()


@auth.authenticate
async def who(authorization: str | None):
    return {"identity": (authorization or "Bearer nobody").split()[-1]}


@auth.on
async def deny_everything_else(ctx, value):
    return False


@auth.on.threads.create
async def may_create(ctx, value):
    return None


@auth.on.threads.read
async def may_read_own_org(ctx, value):
    raise Auth.exceptions.HTTPException(status_code=418, detail="read refused by the handler")
"""


async def test_handlers_are_chosen_as_langgraph_chooses_them(
    tmp_path: Path, web_desk: SupportDesk, settings: Settings
) -> None:
    """The most specific handler wins; a global `@auth.on` answers the rest (LangGraph's default-deny)."""
    path = _write(tmp_path, DEFAULT_DENY)
    settings = settings.model_copy(update={"trusted_user_header": "X-Forwarded-User"})
    app = create_app(settings, desk=web_desk, auth=CustomAuth.load(f"{path}:auth"))
    h = {"Authorization": "Bearer dee"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.post("/threads", json={"thread_id": "d-1"}, headers=h)).status_code == 200
        refused = await client.get("/threads/d-1", headers=h)
        assert (refused.status_code, refused.json()["error"]["message"]) == (
            418,
            "read refused by the handler",
        )
        for method, route, body in [
            ("PATCH", "/threads/d-1", {"title": "x"}),
            ("POST", "/threads/search", {}),
            ("POST", "/assistants/search", {}),
            ("PUT", "/store/items", {"namespace": ["n"], "key": "k", "value": {}}),
        ]:
            answer = await client.request(method, route, json=body, headers=h)
            assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden"), route
        assert (await client.get("/me", headers=h)).json()["name"] == "dee"  # no resource, no handler
        # A trusted proxy's header comes first, and keeps threaddesk's own rules.
        proxied = await client.get("/threads/d-1", headers={"X-Forwarded-User": "dee"})
        assert proxied.status_code == 200
