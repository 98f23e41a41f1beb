"""Chat models for tests: the offline model with a fault switched on and off per instance."""

from __future__ import annotations

from threaddesk.agent.offline import OfflineChatModel


class FlakyModel(OfflineChatModel):
    """The offline model, failing like a timed-out provider while `fail` is set."""

    fail: bool = False

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        if self.fail:
            raise RuntimeError("provider timeout")
        return self._generate(messages, stop, **kwargs)
