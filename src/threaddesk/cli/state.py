"""What the root options decide for every command: the settings, and how to open the desk.

Nothing heavy is imported here at module level: `threaddesk --help` must not
pay for pydantic-settings, LangChain or LangGraph (they load when a command runs).
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from threaddesk.cli.errors import fail

if TYPE_CHECKING:
    from threaddesk.config import Settings
    from threaddesk.sync import ThreadDesk

T = TypeVar("T")


def load_settings(**overrides: Any) -> Settings:
    """`Settings` from `THREADDESK_*`, with the command-line options given (not None) on top."""
    from pydantic import ValidationError

    from threaddesk.config import Settings

    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        first = error.errors()[0]
        name = "THREADDESK_" + "_".join(str(part) for part in first["loc"]).upper()
        fail(f"invalid setting {name}: {first['msg']}")


@dataclass(frozen=True)
class CliState:
    """The root options as given; `settings` is read from them (and the environment) on first use."""

    overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(**self.overrides)

    def given(self, name: str) -> bool:
        """Whether the root option for setting `name` was given on the command line."""
        return self.overrides.get(name) is not None

    def open_desk(self, **overrides: Any) -> ThreadDesk:
        """The desk with the configured model, for commands that run turns (settings `overrides` on top)."""
        from threaddesk.sync import ThreadDesk

        given = {name: value for name, value in overrides.items() if value is not None}
        settings = self.settings.model_copy(update=given) if given else self.settings
        return ThreadDesk.open(settings, run_workers=0)  # only `serve` executes queued runs

    def open_admin_desk(self) -> ThreadDesk:
        """The desk for commands that never run a turn.

        They read and change threads only, so they use the offline model and
        keep working when the configured provider is not installed or reachable.
        """
        from threaddesk.agent import OfflineChatModel
        from threaddesk.sync import ThreadDesk

        return ThreadDesk.open(self.settings, model=OfflineChatModel(), run_workers=0)


def cli_state(ctx: typer.Context) -> CliState:
    """The state the root callback stored; commands take `ctx: typer.Context` to reach it."""
    state = ctx.find_object(CliState)
    if state is None:
        raise RuntimeError("threaddesk commands run under the root `threaddesk` app")
    return state


def asyncio_run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, imported when a command first needs it (asyncio costs `--help` 20 ms)."""
    import asyncio

    return asyncio.run(coro)
