"""The support agent, the models it can talk through, and its support tools."""

from threaddesk.agent.graph import AGENT_NAME, build_agent
from threaddesk.agent.models import OFFLINE, build_model
from threaddesk.agent.offline import OfflineChatModel, reply_for
from threaddesk.agent.orders import DEMO_ORDERS, MemoryOrderBook, OrderBook
from threaddesk.agent.tools import support_tools

__all__ = [
    "AGENT_NAME",
    "DEMO_ORDERS",
    "OFFLINE",
    "MemoryOrderBook",
    "OfflineChatModel",
    "OrderBook",
    "build_agent",
    "build_model",
    "reply_for",
    "support_tools",
]
