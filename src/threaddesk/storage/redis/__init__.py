"""Redis: optional, for per-user message budgets shared by replicas (THREADDESK_REDIS_URL)."""
