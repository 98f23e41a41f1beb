"""The support agent and the models it can talk through."""

from threaddesk.agent.graph import AGENT_NAME, build_agent
from threaddesk.agent.models import OFFLINE, build_model
from threaddesk.agent.offline import OfflineChatModel, reply_for

__all__ = ["AGENT_NAME", "OFFLINE", "OfflineChatModel", "build_agent", "build_model", "reply_for"]
