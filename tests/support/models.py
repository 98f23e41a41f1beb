"""Chat models for tests: the offline model with a fault switched on and off, or paused mid-stream."""

from __future__ import annotations

import asyncio

from pydantic import PrivateAttr

from threaddesk.agent.offline import OfflineChatModel


class FlakyModel(OfflineChatModel):
    """The offline model, failing like a timed-out provider while `fail` is set."""

    fail: bool = False

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        if self.fail:
            raise RuntimeError("provider timeout")
        return self._generate(messages, stop, **kwargs)


class GatedModel(OfflineChatModel):
    """The offline model, stopping before each token whose index is in `pause_at` until `release()`."""

    pause_at: frozenset[int] = frozenset()
    _gate: asyncio.Event = PrivateAttr(default_factory=asyncio.Event)
    _paused: asyncio.Event = PrivateAttr(default_factory=asyncio.Event)

    async def _astream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        index = 0
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            if index in self.pause_at:
                self._paused.set()
                await self._gate.wait()
                self._gate.clear()
            index += 1
            yield chunk

    async def paused(self) -> None:
        """Wait until the model stops at a gate."""
        await self._paused.wait()
        self._paused.clear()

    def release(self) -> None:
        self._gate.set()


class HeldModel(OfflineChatModel):
    """The offline model, holding every call until `release()` (while `hold` is set): a run that
    stays `running` as long as a test needs it to. `calls` counts the calls that began."""

    hold: bool = True
    _gate: asyncio.Event = PrivateAttr(default_factory=asyncio.Event)
    _started: asyncio.Event = PrivateAttr(default_factory=asyncio.Event)
    _calls: list[int] = PrivateAttr(default_factory=list)

    async def _held(self) -> None:
        self._calls.append(1)
        if self.hold:
            self._started.set()
            await self._gate.wait()

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        await self._held()
        return self._generate(messages, stop, **kwargs)

    async def _astream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        await self._held()
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            yield chunk

    @property
    def calls(self) -> int:
        return len(self._calls)

    async def started(self) -> None:
        """Wait until a held call has begun, then reset."""
        await self._started.wait()
        self._started.clear()

    def release(self) -> None:
        self.hold = False
        self._gate.set()

    def hold_next(self) -> None:
        """Hold the calls from now on (again)."""
        self.hold = True
        self._gate.clear()


class RecordingModel(OfflineChatModel):
    """The offline model, keeping every prompt it was given (system prompt included), newest last."""

    _prompts: list = PrivateAttr(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        self._prompts.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)

    @property
    def prompts(self) -> list:
        return self._prompts

    def last_system_prompt(self) -> str:
        return self._prompts[-1][0].content
