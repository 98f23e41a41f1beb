"""One threaddesk replica whose offline model takes `delay` seconds to answer.

Run as `python slow_replica.py DATABASE_URL PORT DELAY`: a slow turn gives a
test time to kill the process mid-turn. Test-only: the product has no slow model.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn

from threaddesk import Settings, open_desk
from threaddesk.agent import OfflineChatModel
from threaddesk.web import create_app


class SlowModel(OfflineChatModel):
    delay: float = 0.0

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        await asyncio.sleep(self.delay)
        return self._generate(messages, stop, **kwargs)

    async def _astream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        await asyncio.sleep(self.delay)
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            yield chunk


async def main(database_url: str, port: int, delay: float) -> None:
    settings = Settings(database_url=database_url, port=port)
    async with open_desk(settings, model=SlowModel(delay=delay)) as desk:
        app = create_app(settings, desk=desk)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
