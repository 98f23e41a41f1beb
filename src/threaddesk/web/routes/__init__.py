"""One router per resource, gathered in `ROUTERS` in the order they are mounted."""

from threaddesk.web.routes import admin, assistants, health, me, messages, page, runs, threads

ROUTERS = [
    health.router,
    me.router,
    threads.router,
    messages.router,
    runs.router,
    runs.stateless,
    assistants.router,
    admin.router,
    page.router,
]
