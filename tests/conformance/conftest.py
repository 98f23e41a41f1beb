"""The differential conformance suite: each scenario runs against LangGraph's server and threaddesk.

One `langgraph dev` per session (started here, on the same support graph and
offline model) and one live threaddesk; a scenario is an async function of a
`Target` that records what it saw in a `Transcript`, and the two transcripts
must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Target
from langgraph_dev import find_langgraph_cli, serve_peer, write_graph_folder
from support.live import LiveServer, serve_live


@pytest.fixture(scope="session")
def langgraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    cli, why = find_langgraph_cli()
    if cli is None:
        pytest.skip(why)
    folder = write_graph_folder(tmp_path_factory.mktemp("langgraph") / "graph")
    log = folder.parent / "langgraph-dev.log"
    with serve_peer(cli, folder, log) as peer:
        yield Target("langgraph", peer.url, {})


@pytest.fixture(scope="session")
def threaddesk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Every checkpoint kept, as LangGraph's server keeps them, so runs may start from older ones.
    database = tmp_path_factory.mktemp("conformance") / "desk.sqlite"
    with serve_live(database, ["alice", "bob", "agent-sam", "root"], keep_checkpoints=0) as server:
        yield server


@pytest.fixture(scope="session")
def targets(langgraph_server: Target, threaddesk_server: LiveServer) -> list[Target]:
    return [langgraph_server, Target("threaddesk", threaddesk_server.url, threaddesk_server.alice.headers)]


@pytest.fixture(scope="session")
def langhost_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """LangGraph's server on PostgreSQL + Redis (opt-in, see langhost.py): the queue's reference."""
    from langhost import find_langhost, serve_langhost

    cli, why = find_langhost()
    if cli is None:
        pytest.skip(why)
    folder = write_graph_folder(tmp_path_factory.mktemp("langhost") / "graph")
    with serve_langhost(cli, folder, folder.parent / "langhost.log") as url:
        yield Target("langhost", url, {})


@pytest.fixture(scope="session")
def threaddesk_postgres_server(langhost_server: Target) -> Iterator[LiveServer]:
    from support.postgres import postgres_schema

    with postgres_schema() as url, serve_live(url, ["alice", "bob"], keep_checkpoints=0) as server:  # type: ignore[arg-type]
        yield server


@pytest.fixture(scope="session")
def queue_targets(langhost_server: Target, threaddesk_postgres_server: LiveServer) -> list[Target]:
    """Both servers on PostgreSQL, where background runs go through a queue."""
    server = threaddesk_postgres_server
    return [langhost_server, Target("threaddesk", server.url, server.alice.headers)]


@pytest.fixture(scope="session")
def admin_targets(langgraph_server: Target, threaddesk_server: LiveServer) -> list[Target]:
    """As `targets`, with threaddesk's caller an admin: who may create, update and delete assistants."""
    return [langgraph_server, Target("threaddesk", threaddesk_server.url, threaddesk_server.root.headers)]


@pytest.fixture(scope="session")
def replica_targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Target]]:
    """Two replicas of each server on one database (opt-in with langhost, see langhost.py): two
    `langhost serve` on one PostgreSQL database and Redis, two threaddesk on one PostgreSQL schema.
    Each target is the first replica, its `other` the second."""
    from langhost import find_langhost, fresh_database, serve_langhost_on
    from support.postgres import postgres_schema

    cli, why = find_langhost()
    if cli is None:
        pytest.skip(why)
    folder = write_graph_folder(tmp_path_factory.mktemp("langhost-replicas") / "graph")
    with (
        fresh_database() as database,
        serve_langhost_on(cli, folder, folder.parent / "langhost-a.log", database) as first,
        serve_langhost_on(cli, folder, folder.parent / "langhost-b.log", database) as second,
        postgres_schema() as url,
        serve_live(url, ["alice"], keep_checkpoints=0) as ours,  # type: ignore[arg-type]
        serve_live(url, ours.users, keep_checkpoints=0) as ours_too,  # type: ignore[arg-type]
    ):
        alice = ours.alice.headers
        yield [
            Target("langhost", first, {}, other=Target("langhost-2", second, {})),
            Target("threaddesk", ours.url, alice, other=Target("threaddesk-2", ours_too.url, alice)),
        ]
