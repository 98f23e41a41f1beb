"""Users and their API tokens: who is asking, and whether they are an admin."""

from threaddesk.users.manager import UserManager
from threaddesk.users.models import User
from threaddesk.users.store.base import UserStore

__all__ = ["User", "UserManager", "UserStore"]
