"""`run_durability`: the checkpoints a run writes when it names none (one per turn, or one per step)."""

from __future__ import annotations

import pytest

from threaddesk import Settings, open_desk


@pytest.mark.parametrize(("durability", "checkpoints"), [("exit", 1), ("async", 3)])
async def test_a_turn_writes_the_checkpoints_the_setting_asks(durability: str, checkpoints: int) -> None:
    settings = Settings(database_url="memory", keep_checkpoints=0, run_durability=durability)  # type: ignore[arg-type]
    async with open_desk(settings) as desk:
        await desk.send("t-1", "Hi, I'm Pat.", user_id="pat", create=True)
        history = await desk.state_history("t-1", user_id="pat", limit=50)
        assert len(history) == checkpoints
        # Per step: the empty input checkpoint, the customer's message, the reply (newest first).
        sizes = [len(state.values.get("messages", [])) for state in history]
        assert sizes == ([2] if durability == "exit" else [2, 1, 0])
