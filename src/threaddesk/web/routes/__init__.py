"""One router per resource, gathered in `ROUTERS` in the order they are mounted."""

from threaddesk.web.routes import (
    admin,
    assistants,
    handoff,
    health,
    info,
    langgraph_threads,
    me,
    messages,
    page,
    runs,
    store,
    threads,
)

ROUTERS = [
    health.router,
    info.router,
    me.router,
    threads.router,
    messages.router,
    handoff.router,
    langgraph_threads.router,
    runs.router,
    runs.stateless,
    assistants.router,
    store.router,
    admin.router,
    page.router,
]
