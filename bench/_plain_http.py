"""The plain-LangGraph HTTP contender: the tutorial agent behind one FastAPI route.

`StateGraph(MessagesState)` + the same `OfflineChatModel` + `AsyncSqliteSaver`,
one `POST /threads/{thread_id}/messages` doing `ainvoke`, served by uvicorn with
its defaults (as `uvicorn app:app` would). No auth, no registry, no locks.
`--tuned`: `durability="exit"` and `synchronous=NORMAL` (WAL either way), as threaddesk runs.

    python bench/_plain_http.py --db /tmp/plain.sqlite --port 8123
"""

from __future__ import annotations

import argparse
import sys
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


from pydantic import BaseModel  # noqa: E402


class MessageIn(BaseModel):
    content: str


def build_app(db: str, tuned: bool = False):
    from _contenders import TUNED_DURABILITY, plain_agent
    from fastapi import FastAPI
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    options = {"durability": TUNED_DURABILITY} if tuned else {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with AsyncSqliteSaver.from_conn_string(db) as saver:
            if tuned:  # threaddesk's settings: WAL (the saver's own setup) and no fsync per commit
                await saver.setup()
                await saver.conn.execute("PRAGMA synchronous=NORMAL")
            app.state.agent = plain_agent(saver)
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/threads/{thread_id}/messages")
    async def send(thread_id: str, body: MessageIn) -> dict:
        state = await app.state.agent.ainvoke(
            {"messages": [("user", body.content)]}, {"configurable": {"thread_id": thread_id}}, **options
        )
        return {"message": {"role": "assistant", "content": state["messages"][-1].content}}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tuned", action="store_true", help='durability="exit", synchronous=NORMAL')
    args = parser.parse_args()
    uvicorn.run(build_app(args.db, args.tuned), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
