"""Who is asking: a token (`Authorization: Bearer` or `X-Api-Key`), or a trusted proxy header.

`X-Api-Key` is what `langgraph-sdk` sends for `get_client(api_key=...)`.
The trusted header is for a reverse proxy that has already authenticated the
user (an identity-aware proxy, oauth2-proxy, ...); it is off unless
`THREADDESK_TRUSTED_USER_HEADER` names it, because anyone who can reach the
server directly could otherwise claim to be anyone.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import HTTPConnection

from threaddesk.errors import InvalidUserId, UserNotFound
from threaddesk.users import User, UserManager
from threaddesk.users.manager import validate_user_name
from threaddesk.web.errors import APIError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="threaddesk"'}


def presented_token(connection: HTTPConnection) -> str | None:
    """The token from `Authorization: Bearer ...` or `X-Api-Key`, if any."""
    authorization = connection.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return connection.headers.get("x-api-key", "").strip() or None


async def _trusted_user(users: UserManager, name: str) -> User:
    """The proxy's user: an admin only if registered here as one."""
    try:
        name = validate_user_name(name)
    except InvalidUserId as exc:
        raise APIError(401, "unauthorized", f"trusted user header: {exc}", _CHALLENGE) from exc
    try:
        return await users.get(name)
    except UserNotFound:
        return User(name=name, is_admin=False, created_at=datetime.now(UTC))


async def authenticate(connection: HTTPConnection, users: UserManager, trusted_header: str | None) -> User:
    """The caller, or a 401 `APIError`."""
    if trusted_header:
        name = connection.headers.get(trusted_header)
        if name:
            return await _trusted_user(users, name)
    token = presented_token(connection)
    if token is None:
        raise APIError(
            401,
            "unauthorized",
            "missing token: send 'Authorization: Bearer <token>' or 'X-Api-Key'",
            _CHALLENGE,
        )
    user = await users.authenticate(token)
    if user is None:
        raise APIError(401, "unauthorized", "invalid or revoked token", _CHALLENGE)
    return user
