"""A custom `Auth` as LangGraph's docs write one: tokens of an outside identity system, org-scoped threads.

Used by tests/web/test_custom_auth.py through `THREADDESK_AUTH_PATH`; the same file
works with LangGraph's own server (`"auth": {"path": "./auth.py:auth"}`).
"""

from langgraph_sdk import Auth

auth = Auth()

# What an identity provider would answer for each bearer token.
USERS = {
    "token-ann": {"identity": "ann", "org": "acme"},
    "token-ben": {"identity": "ben", "org": "acme"},
    "token-cy": {"identity": "cy", "org": "acme", "permissions": ["readonly"]},
    "token-bad-name": {"identity": "not a user name!"},
}


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token not in USERS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="unknown token")
    return USERS[token]  # type: ignore[return-value]


@auth.on.threads.create
async def stamp_org(ctx: Auth.types.AuthContext, value: Auth.types.on.threads.create.value) -> None:
    """Read-only users start nothing; every thread is stamped with its creator's org."""
    if "readonly" in ctx.permissions:
        raise Auth.exceptions.HTTPException(status_code=403, detail="read-only users cannot start threads")
    metadata = value.setdefault("metadata", {})
    metadata["org"] = ctx.user["org"]


@auth.on.threads
async def same_org(ctx: Auth.types.AuthContext, value: dict) -> Auth.types.FilterType:
    """Every other thread action sees only the caller's org's threads."""
    return {"org": ctx.user.org}


@auth.on.store.put
async def no_writes_for_readonly(ctx: Auth.types.AuthContext, value: dict) -> bool:
    return "readonly" not in ctx.permissions
