"""Users and their API tokens: who is asking, and whether they are an admin."""

from threaddesk.users.interfaces import UserStore
from threaddesk.users.manager import UserManager
from threaddesk.users.models import Role, User

__all__ = ["Role", "User", "UserManager", "UserStore"]
