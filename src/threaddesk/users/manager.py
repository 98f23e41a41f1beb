"""The user rules: valid names, one token per user shown once, the first admin."""

from __future__ import annotations

import re

from threaddesk.errors import InvalidArgument, InvalidUserId, UserExists, UserNotFound
from threaddesk.threads.models import Clock, utc_now
from threaddesk.users.interfaces import UserStore
from threaddesk.users.models import Role, User
from threaddesk.users.tokens import hash_token, hashes_match, new_token

MAX_NAME_LENGTH = 64
MAX_TOKEN_LENGTH = 256
BOOTSTRAP_ADMIN = "admin"

# Typed on command lines and shown in URLs and logs: keep names plain.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")


def validate_user_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidUserId(name, "must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidUserId(name, f"longer than {MAX_NAME_LENGTH} characters")
    if not _NAME.fullmatch(name):
        raise InvalidUserId(name, "use letters, digits and . _ @ - only, starting with a letter or digit")
    return name


def check_role(role: object) -> Role:
    """`role` as a `Role`, else `InvalidArgument` naming the roles."""
    try:
        return Role(role)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidArgument(f"role must be one of {', '.join(Role)}, got {role!r}") from exc


class UserManager:
    """Add, list and revoke users; turn a presented token into a `User`.

    A user's name is the `user_id` that owns their threads, so revoking a user
    keeps their threads: adding the name again gives them back with a new token.
    """

    def __init__(self, store: UserStore, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    async def add(
        self, name: str, *, admin: bool = False, role: Role | str | None = None
    ) -> tuple[User, str]:
        """Create `name` and return it with its token, the only time the token exists in clear.

        `role` is customer (the default), agent or admin; `admin=True` is the same as `role="admin"`.

        Raises:
            InvalidUserId: the name is malformed.
            InvalidArgument: an unknown role, or `admin=True` with another role.
            UserExists: the name is taken.
        """
        chosen = check_role(role if role is not None else (Role.ADMIN if admin else Role.CUSTOMER))
        if admin and chosen is not Role.ADMIN:
            raise InvalidArgument(f"admin=True contradicts role {str(chosen)!r}")
        user = User(name=validate_user_name(name), is_admin=False, created_at=self.clock(), role=chosen)
        token = new_token()
        if not await self.store.insert(user, hash_token(token)):
            raise UserExists(name)
        return user, token

    async def authenticate(self, token: str | None) -> User | None:
        """The user holding `token`, or None for a missing, malformed or unknown one."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        presented = hash_token(token)
        found = await self.store.find_by_token_hash(presented)
        if found is None:
            return None
        user, stored = found
        return user if hashes_match(stored, presented) else None

    async def get(self, name: str) -> User:
        user = await self.store.get(name)
        if user is None:
            raise UserNotFound(name)
        return user

    async def list(self) -> list[User]:
        return await self.store.list()

    async def revoke(self, name: str) -> User:
        """Remove `name` and its token (their threads stay); `UserNotFound` if absent."""
        user = await self.get(name)
        if not await self.store.delete(name):
            raise UserNotFound(name)
        return user

    async def bootstrap_admin(self, name: str = BOOTSTRAP_ADMIN) -> tuple[User, str] | None:
        """On a store with no users, create an admin and return it with its token; else None."""
        if await self.store.count():
            return None
        try:
            return await self.add(name, admin=True)
        except UserExists:
            return None
