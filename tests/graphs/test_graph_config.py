"""Reading a langgraph.json: the shapes LangGraph's CLI accepts, and what threaddesk refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threaddesk.graphs.config import GraphConfigError, read_config


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(data))
    return path


def test_file_module_and_dict_entries(tmp_path: Path) -> None:
    config = read_config(
        _write(
            tmp_path,
            {
                "graphs": {
                    "a": "./src/agent.py:graph",
                    "b": "my_pkg.graphs:make_graph",
                    "c": {"path": "./c.py:graph", "description": "the c graph"},
                },
                "python_version": "3.11",  # ignored: about building images
            },
        )
    )
    a, b, c = config.graphs
    assert (a.graph_id, a.file, a.module, a.attr) == ("a", tmp_path / "src" / "agent.py", None, "graph")
    assert (b.file, b.module, b.attr) == (None, "my_pkg.graphs", "make_graph")
    assert (c.file, c.description) == (tmp_path / "c.py", "the c graph")
    assert a.location == f"{tmp_path / 'src' / 'agent.py'}:graph"
    assert config.source == tmp_path / "langgraph.json"


def test_env_as_dict_or_file_and_local_dependencies(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("API_KEY=abc\n# a comment\nOTHER='x y'\n")
    config = read_config(
        _write(
            tmp_path, {"graphs": {"a": "./a.py:g"}, "env": ".env", "dependencies": [".", "./src", "requests"]}
        )
    )
    assert config.env == {"API_KEY": "abc", "OTHER": "x y"}
    assert config.dependencies == (tmp_path, tmp_path / "src")  # package names are taken as installed
    assert read_config(_write(tmp_path, {"graphs": {"a": "m:g"}, "env": {"K": "v"}})).env == {"K": "v"}


def test_auth_path_is_parsed_for_the_web_layer(tmp_path: Path) -> None:
    config = read_config(_write(tmp_path, {"graphs": {"a": "m:g"}, "auth": {"path": "./auth.py:auth"}}))
    assert config.auth_path == f"{tmp_path / 'auth.py'}:auth"
    assert read_config(
        _write(tmp_path, {"graphs": {"a": "m:g"}, "auth": {"path": "pkg.auth:auth"}})
    ).auth_path == ("pkg.auth:auth")
    assert read_config(_write(tmp_path, {"graphs": {"a": "m:g"}})).auth_path is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"graphs": {}}, "at least one graph"),
        ({}, "at least one graph"),
        ({"graphs": {"a": "./a.py"}}, "names no attribute"),
        ({"graphs": {"a": 3}}, "expected './path/file.py:attr'"),
        ({"graphs": {"a": "m:g"}, "checkpointer": {"ttl": {}}}, "`checkpointer` is not supported"),
        ({"graphs": {"a": "m:g"}, "store": {"index": {}}}, "`store` is not supported"),
        ({"graphs": {"a": "m:g"}, "env": 3}, "`env` must be"),
        ({"graphs": {"a": "m:g"}, "env": "missing.env"}, "not found"),
        ({"graphs": {"a": "m:g"}, "dependencies": "."}, "`dependencies` must be a list"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_unusable_configs_are_refused_clearly(tmp_path: Path, data: object, expected: str) -> None:
    with pytest.raises(GraphConfigError, match=expected):
        read_config(_write(tmp_path, data))


def test_missing_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(GraphConfigError, match="not found"):
        read_config(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GraphConfigError, match="cannot be read"):
        read_config(tmp_path / "bad.json")


async def test_the_desk_keeps_the_config_for_the_auth_hook(tmp_path: Path) -> None:
    from threaddesk import open_desk

    samples = Path(__file__).parent / "samples"
    path = _write(
        tmp_path, {"graphs": {"echo": f"{samples}/echo.py:graph"}, "auth": {"path": "./auth.py:auth"}}
    )
    async with open_desk(database_url="memory", graphs=str(path)) as desk:
        assert desk.graph_config is not None
        assert desk.graph_config.auth_path == f"{tmp_path / 'auth.py'}:auth"
        assert list(desk.graphs) == ["echo"]
    async with open_desk(database_url="memory") as desk:
        assert desk.graph_config is None


async def test_threaddesk_config_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threaddesk import Settings, open_desk

    samples = Path(__file__).parent / "samples"
    path = _write(tmp_path, {"graphs": {"count": f"{samples}/counter.py:graph"}})
    monkeypatch.setenv("THREADDESK_CONFIG", str(path))
    async with open_desk(Settings(database_url="memory")) as desk:
        assert list(desk.graphs) == ["count"]
        assert desk.graphs.default.graph is desk.agent
