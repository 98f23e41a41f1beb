"""Who is asking: a token (`Authorization: Bearer` or `X-Api-Key`), or a trusted proxy header.

`X-Api-Key` is what `langgraph-sdk` sends for `get_client(api_key=...)`.
The trusted header is for a reverse proxy that has already authenticated the
user (an identity-aware proxy, oauth2-proxy, ...); it is off unless
`THREADDESK_TRUSTED_USER_HEADER` names it, because anyone who can reach the
server directly could otherwise claim to be anyone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection, Request

from threaddesk.errors import InvalidUserId, UserNotFound
from threaddesk.users import User, UserManager
from threaddesk.users.manager import validate_user_name
from threaddesk.web.custom_auth import AuthRefused, CustomAuth, CustomAuthError, authorize_request
from threaddesk.web.errors import APIError

if TYPE_CHECKING:
    from threaddesk.service import SupportDesk

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
    return await known_user(users, name, "trusted user header")


async def known_user(users: UserManager, name: str, source: str) -> User:
    """The user someone else vouched for (a proxy, a custom auth): as registered here, else a plain user."""
    try:
        name = validate_user_name(name)
    except InvalidUserId as exc:
        raise APIError(401, "unauthorized", f"{source}: {exc}", _CHALLENGE) from exc
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


async def authenticate_custom(
    connection: Request, custom: CustomAuth, desk: SupportDesk, trusted_header: str | None
) -> User:
    """The caller when a custom `Auth` is configured, after its `@auth.on` handler allowed the request.

    The rule: a trusted proxy header (if configured) first, then `@auth.authenticate`;
    if that refuses with 401 and the request carries a valid threaddesk token,
    the token's user is the caller (so admin tokens, scripts and the chat page
    keep working). `@auth.on` handlers apply to custom-auth callers; token
    callers keep threaddesk's own rules (owners, admins).
    """
    if trusted_header and connection.headers.get(trusted_header):
        return await authenticate(connection, desk.users, trusted_header)
    try:
        resolved = await custom.authenticate(connection)
    except AuthRefused as refused:
        token = presented_token(connection)
        if refused.status == 401 and token is not None:
            user = await desk.users.authenticate(token)
            if user is not None:
                return user
        raise _refusal(refused) from None
    user = await known_user(desk.users, resolved.user.identity, "custom auth identity")
    try:
        await authorize_request(connection, custom, resolved, desk, None if user.is_admin else user.name)
    except AuthRefused as refused:
        raise _refusal(refused) from None
    except CustomAuthError as exc:
        raise APIError(500, exc.code, str(exc)) from exc
    return user


def _refusal(refused: AuthRefused) -> APIError:
    headers = refused.headers or (_CHALLENGE if refused.status == 401 else None)
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(refused.status, "refused")
    return APIError(refused.status, code, refused.detail, headers)
