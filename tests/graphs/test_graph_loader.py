"""Loading graphs: file and module paths, StateGraphs, factories; every failure one line, at load time."""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from threaddesk.errors import GraphLoadError
from threaddesk.graphs.config import GraphsConfig, parse_config
from threaddesk.graphs.loader import load_graphs, module_name

SAMPLES = Path(__file__).parent / "samples"
SAVER = InMemorySaver()


async def _load(graphs: GraphsConfig | dict[str, Any]) -> list[Any]:
    async with AsyncExitStack() as stack:
        return await load_graphs(graphs, checkpointer=SAVER, store=None, stack=stack)


def _config(graphs: dict[str, Any], **more: Any) -> GraphsConfig:
    return parse_config({"graphs": graphs, **more}, SAMPLES)


@pytest.mark.parametrize(
    "target",
    [
        "./counter.py:graph",  # a compiled graph
        "./counter.py:builder",  # an uncompiled StateGraph
        "./counter.py:make_graph",  # a factory taking a config
        "./counter.py:make_plain",  # a factory taking nothing, returning a StateGraph
        "./counter.py:make_async",  # an async factory
        "./counter.py:make_managed",  # an async context manager
        "./counter.py:make_sync_managed",  # a context manager
    ],
)
async def test_every_kind_of_graph_is_served_on_our_checkpointer(target: str) -> None:
    [served] = await _load(_config({"counter": target}))
    assert served.graph_id == "counter"
    assert isinstance(served.graph, Pregel)
    assert served.graph.checkpointer is SAVER  # ours, on a copy
    assert served.nodes == ("increment", "finish")
    assert not served.has_messages
    assert served.location == f"{SAMPLES / 'counter.py'}:{target.rpartition(':')[2]}"


def _sample(name: str) -> Any:
    """The module the loader imported a sample file as."""
    return sys.modules[module_name(SAMPLES / f"{name}.py")]


async def test_a_compiled_graph_is_copied_not_changed() -> None:
    [served] = await _load(_config({"counter": "./counter.py:graph"}))
    original = _sample("counter").graph
    assert original.checkpointer is None
    assert served.graph is not original


async def test_a_factory_is_called_once_with_a_config() -> None:
    await _load(_config({"counter": "./counter.py:make_graph"}))
    assert _sample("counter").made[-1] == {"configurable": {}}


async def test_a_context_manager_factory_is_exited_with_the_desk() -> None:
    async with AsyncExitStack() as stack:
        config = _config({"c": "./counter.py:make_managed"})
        await load_graphs(config, checkpointer=SAVER, store=None, stack=stack)
        assert _sample("counter").made[-1] == "entered"
    assert _sample("counter").made[-1] == "exited"


async def test_module_paths_use_the_dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    [served] = await _load(_config({"echo": "echo:graph"}, dependencies=["."]))
    assert served.has_messages and not served.archives
    assert served.location == "echo:graph"
    assert str(SAMPLES) in sys.path


async def test_env_is_set_before_import_without_overriding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADDESK_TEST_KEEP", "mine")
    monkeypatch.delenv("THREADDESK_TEST_NEW", raising=False)
    await _load(
        _config({"c": "./counter.py:graph"}, env={"THREADDESK_TEST_KEEP": "x", "THREADDESK_TEST_NEW": "y"})
    )
    import os

    assert os.environ["THREADDESK_TEST_KEEP"] == "mine"
    assert os.environ["THREADDESK_TEST_NEW"] == "y"
    monkeypatch.delenv("THREADDESK_TEST_NEW")


async def test_a_mapping_of_objects_and_import_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    from echo import graph as echo_graph  # type: ignore[import-not-found]  # via sys.path below

    monkeypatch.chdir(SAMPLES)
    loaded = await _load({"echo": echo_graph, "counter": "./counter.py:graph"})
    assert [s.graph_id for s in loaded] == ["echo", "counter"]
    assert loaded[0].graph.checkpointer is SAVER and echo_graph.checkpointer is None
    assert loaded[0].location == "<CompiledStateGraph object>"


@pytest.fixture(autouse=True)
def _samples_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(SAMPLES))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("./missing.py:graph", "FileNotFoundError: no such file"),
        ("./broken.py:graph", "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'"),
        ("no_such_module_here:graph", "ModuleNotFoundError"),
        (
            "./counter.py:nothing",
            "AttributeError: .* has no attribute 'nothing' \\(graphs there: builder, graph",
        ),
        ("./counter.py:not_a_graph", "is a int, not a graph"),
        ("./counter.py:own_checkpointer", "compiled with its own checkpointer \\(InMemorySaver\\)"),
        ("./counter.py:own_store", "compiled with its own store \\(InMemoryStore\\)"),
        ("./counter.py:make_failing", "RuntimeError: the factory could not build its graph"),
    ],
)
async def test_failures_are_one_line_naming_the_graph_and_file(target: str, expected: str) -> None:
    with pytest.raises(GraphLoadError, match=expected) as caught:
        await _load(_config({"bad": target}))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("graph 'bad' (")
    if target.startswith("./"):
        assert str(SAMPLES / target[2:].partition(":")[0]) in message
