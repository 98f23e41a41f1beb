"""All settings in one place, read from `THREADDESK_*` environment variables.

Nothing is opened here: settings only describe where things are.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SYSTEM_PROMPT = (
    "You are a friendly, concise customer-support agent. Each conversation is with "
    "one customer; use only what this customer said in this conversation. Remember "
    "their name once they give it and address them by it."
)


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database (the only store several processes can share)."""
    return url.startswith(POSTGRES_SCHEMES)


def default_database_path() -> Path:
    """`threaddesk.sqlite` in the user data directory."""
    return Path(user_data_dir("threaddesk", appauthor=False)) / "threaddesk.sqlite"


def default_database_url() -> str:
    """`threaddesk.sqlite` in your user data directory (`~/.local/share/threaddesk/` on Linux)."""
    return str(default_database_path())


def default_user() -> str:
    """Your login name, or `local` where the platform has none."""
    try:
        return getpass.getuser() or "local"
    except (OSError, KeyError):
        return "local"


class Settings(BaseSettings):
    """Configuration of a threaddesk process."""

    model_config = SettingsConfigDict(env_prefix="THREADDESK_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description=(
            "Where threads, users and checkpoints live: a SQLite file path, `sqlite:///relative/x.sqlite`"
            " (three slashes: relative), `sqlite:////tmp/x.sqlite` (four: absolute),"
            " `postgresql://user@host/dbname` (shared by replicas), or `memory` for a throwaway store."
        ),
    )
    model: str = Field(
        default="offline",
        description="`offline` (deterministic, no network) or `provider:model` for LangChain's"
        " `init_chat_model`, e.g. `openai:gpt-4o-mini`.",
    )
    base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama /v1).",
    )
    api_key: SecretStr | None = Field(default=None, description="API key for the model provider.")
    pg_pool_size: int = Field(
        default=10, ge=1, description="PostgreSQL connections per process for queries (threads, checkpoints)."
    )
    pg_turn_pool_size: int = Field(
        default=10,
        ge=1,
        description="PostgreSQL connections per process holding turn locks: its most concurrent turns.",
    )
    system_prompt: str = Field(
        default=DEFAULT_SYSTEM_PROMPT,
        description="The model's instructions, prepended at call time and never stored.",
    )
    model_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Seconds one call to a provider's model may take; a call that fails or times out"
        " rolls its turn back (model unavailable: HTTP 503, exit 5). Not used by `offline`.",
    )
    max_message_bytes: int = Field(
        default=32 * 1024,
        gt=0,
        description="Largest accepted message, in UTF-8 bytes; larger is `MessageTooLarge` (HTTP 413,"
        " exit 2).",
    )
    user: str = Field(
        default_factory=default_user,
        description="The user id a local caller (the command line) acts as: owner of the threads it starts.",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest HTTP request body, refused before it is read."
    )
    max_run_delay_s: int = Field(
        default=3600, ge=0, description="Largest `after_seconds` a LangGraph run request may ask for."
    )
    run_workers: int = Field(
        default=10,
        ge=0,
        description=(
            "How many queued background runs (`POST /threads/{id}/runs`, `POST /runs`) this process executes"
            " at once. Every process that serves (`threaddesk serve`, each of its `--workers`, or a library"
            " `open_desk`) claims runs from the queue in the database, whichever process accepted them, so a"
            " run outlives the replica it was posted to; 0: this process only enqueues (others execute)."
            " On PostgreSQL a running turn also holds a `pg_turn_pool_size` connection: raise both together."
            " Command-line commands other than `serve` never execute queued runs."
        ),
    )
    run_lease_s: float = Field(
        default=30,
        gt=0,
        description=(
            "How long, in seconds, a running run's row vouches for the process running it (renewed every"
            " third of it). A process that dies mid-run (crash, `kill -9`, lost machine) leaves its runs to"
            " be retried by another worker (up to 3 attempts, then `error`) once this has passed."
        ),
    )
    run_poll_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description=(
            "How often, in seconds, an idle run worker looks in the queue for runs made by other processes,"
            " threads freed elsewhere and runs whose server died (runs made in the same process start"
            " at once)."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `threaddesk serve` listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `threaddesk serve` listens on.")
    keep_alive_s: int = Field(
        default=75,
        ge=1,
        description="Idle keep-alive of HTTP connections, in seconds; keep it above your load balancer's idle"
        " timeout so the server never closes a connection a client is about to reuse (the race shows up"
        " as a connection reset on the client).",
    )
    max_connections: int = Field(
        default=2048,
        ge=1,
        description="Most open HTTP connections per server process. Past it, the connection that has waited"
        " longest without sending a request is closed to make room, or (all busy) the new one gets 503."
        " Lowered at start, with a warning, to fit the open-file limit (`ulimit -n`).",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a connection has to send a complete request line and headers, from connecting"
        " or from its first byte after a response; then it is closed (slow or silent clients).",
    )
    body_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a request's body has to arrive once its headers have; then the connection is"
        " closed (slow uploads).",
    )
    backlog: int = Field(
        default=2048,
        ge=1,
        le=65535,
        description="Connections the kernel queues for `threaddesk serve` before they are accepted"
        " (uvicorn's default; a burst beyond it waits for SYN retries or is reset).",
    )
    event_loop: Literal["auto", "asyncio", "uvloop"] = Field(
        default="auto",
        description="The event loop `threaddesk serve` runs on, as uvicorn's `--loop`: `auto` takes uvloop"
        " when it is installed (`pip install uvloop`), else asyncio's.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`threaddesk serve` logs as text lines, or as one JSON object a line (with request_id).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="A token that may read /metrics and nothing else (for a Prometheus scraper); admin"
        " tokens may read it too. Unset: admins only.",
    )
    tracing: bool = Field(
        default=False,
        description="Record an OpenTelemetry span per turn (needs the `tracing` extra). Spans go where the"
        " OpenTelemetry SDK configured in the process sends them; off, nothing is imported.",
    )
    trusted_user_header: str | None = Field(
        default=None,
        description="Header set by a trusted reverse proxy naming the signed-in user (off when unset).",
    )
    auth_path: str | None = Field(
        default=None,
        description="A `langgraph_sdk.Auth` object for custom authentication, as `./auth.py:auth` (relative"
        " to the working directory) or `package.module:auth` (off when unset; see Deployment).",
    )
    cors_origins: str = Field(
        default="",
        description="Origins (comma-separated, or `*` for any) whose browser pages may call the HTTP API"
        " (CORS). Empty: off, only same-origin pages. Tokens travel in `Authorization` / `X-Api-Key`,"
        " never as cookies across origins (no credentialed CORS).",
    )
    context_messages: int = Field(
        default=40, ge=1, description="At most this many of a thread's latest messages go to the model."
    )
    context_tokens: int | None = Field(
        default=None,
        ge=1,
        description="If set, the model's context is also cut to this many tokens (approximate count).",
    )
    max_threads_per_user: int | None = Field(
        default=None,
        ge=1,
        description="Most threads one user may own at once; one more is `TooManyThreads` (HTTP 429, exit 7)."
        " Unset: no limit.",
    )
    messages_per_minute: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Most messages one user may send a minute; one more is `RateLimited` (HTTP 429 with"
            " `Retry-After`, exit 7). Counted in Redis if `redis_url` is set, else in PostgreSQL on"
            " PostgreSQL (one budget for all replicas), else per process. Unset: no limit."
        ),
    )
    redis_url: str | None = Field(
        default=None,
        description="`redis://host:port/db`: where replicas share the `messages_per_minute` budgets.",
    )
    max_state_messages: int | None = Field(
        default=None,
        ge=0,
        description=(
            "When a thread's checkpoint holds more messages than this, the oldest move to the message"
            " archive (keeping at least context_messages); default 2 x context_messages, 0 never moves."
        ),
    )
    run_durability: Literal["exit", "async", "sync"] = Field(
        default="exit",
        description="Checkpoints a run writes when it names no `durability`: `exit` (one per turn) or"
        " `async`/`sync` (LangGraph's default: the input, then each step). Front-ends that regenerate or"
        " edit a message from its parent checkpoint (useStream, agent-chat-ui) need `async` and"
        " `keep_checkpoints` 0 (or room for the branches).",
    )
    memory: bool = Field(
        default=False,
        description="Let the support agent remember a customer's preferred name and language across"
        " their threads, in LangGraph's store under their own namespace (`/store/items`, namespace"
        ' `["memory"]`, key `profile`: they may read or delete it). Off: nothing is written.',
    )
    keep_checkpoints: int = Field(
        default=1,
        ge=0,
        description="Checkpoints kept per thread after each turn (older ones are pruned); 0 keeps all.",
    )
    config: str | None = Field(
        default=None,
        description=(
            "A `langgraph.json` naming your own graphs to serve (as `serve --config`); unset: the"
            " built-in support agent."
        ),
    )

    def cors_origin_list(self) -> list[str]:
        """`cors_origins` as a list (empty: CORS off)."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
