"""The messages router is tried first (it makes the turns); that must decide no request's answer."""

from __future__ import annotations

import itertools

from threaddesk.web.routes import ROUTERS, messages


def _request_paths() -> set[str]:
    """Every route's path with each `{param}` filled by every literal segment the routes use, and by `x1`."""
    paths = {route.path for router in ROUTERS for route in router.routes}
    literals = {part for path in paths for part in path.split("/") if part and not part.startswith("{")}
    filled = set()
    for path in paths:
        choices = [[part] if not part.startswith("{") else ["x1", *literals] for part in path.split("/")]
        filled.update("/".join(parts) for parts in itertools.product(*choices))
    return filled


def test_the_messages_router_comes_first() -> None:
    assert ROUTERS[0] is messages.router


def test_no_other_router_has_a_path_the_messages_routes_match() -> None:
    ours = messages.router.routes
    others = [route for router in ROUTERS if router is not messages.router for route in router.routes]
    candidates = _request_paths()
    assert len(candidates) > 1000  # the check still looks at many paths
    shared = sorted(
        (path, other.path)
        for path in candidates
        if any(route.path_regex.match(path) for route in ours)
        for other in others
        if other.path_regex.match(path)
    )
    assert shared == [], f"moving the messages router first would change these answers: {shared[:5]}"
