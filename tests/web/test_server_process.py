"""How `threaddesk serve` sets up its process: the event loop it runs on, and the collector after startup."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from threaddesk import Settings
from threaddesk.cli.app import app as cli_app
from threaddesk.web import create_app
from threaddesk.web.app import create_served_app
from threaddesk.web.server import freeze_after_startup, loop_factory, server_config

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


@pytest.fixture
def unfrozen():
    """Whatever a test hides from the collector is handed back to it, so later tests' garbage is collected."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_after_startup_the_objects_alive_are_hidden_from_the_collector(tmp_path: Path, unfrozen) -> None:
    settings = Settings(database_url=str(tmp_path / "desk.sqlite"), model="offline")
    app = freeze_after_startup(create_app(settings))
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        # The app's own startup ran first (the desk is open), then the freeze.
        assert app.state.desk is not None
        assert gc.get_freeze_count() > 1000
        assert client.get("/healthz").status_code == 200
        garbage: list[object] = []
        garbage.append(garbage)  # a cycle made after startup is still the collector's to free
        del garbage
        assert gc.collect() >= 1


def test_each_worker_serves_the_app_frozen_after_its_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unfrozen
) -> None:
    monkeypatch.setenv("THREADDESK_DATABASE_URL", str(tmp_path / "desk.sqlite"))
    monkeypatch.setenv("THREADDESK_MODEL", "offline")
    app = create_served_app()
    with TestClient(app) as client:
        assert gc.get_freeze_count() > 1000
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("choice", ["asyncio", "auto"])
def test_the_event_loop_is_uvicorns_choice(choice: str) -> None:
    settings = Settings(event_loop=choice)
    loop = loop_factory(settings)()
    try:
        if choice == "auto" and HAS_UVLOOP:
            assert type(loop).__module__.startswith("uvloop")
        else:
            assert isinstance(loop, asyncio.SelectorEventLoop)
    finally:
        loop.close()
    assert server_config(object(), settings).loop == choice


@pytest.mark.skipif(HAS_UVLOOP, reason="uvloop is installed here")
def test_asking_for_uvloop_without_it_stops_serve_with_a_message(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        cli_app,
        ["--db", str(tmp_path / "desk.sqlite"), "serve"],
        env={"THREADDESK_EVENT_LOOP": "uvloop"},
    )
    assert result.exit_code == 2
    assert "uvloop" in result.output
