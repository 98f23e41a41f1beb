"""A tiny OpenAI-compatible chat-completions server for tests.

Standard library only. Serves ``POST /v1/chat/completions`` (plain and
streaming) and ``GET /v1/models`` on 127.0.0.1 with a free port, running in
a daemon thread. The assistant text comes from a user-supplied ``reply``
callable that receives the request's messages, normalized so that each
message's ``content`` is a plain string.

Usage::

    with FakeOpenAIServer(lambda messages: "hello") as server:
        model = init_chat_model(
            "openai:gpt-4o-mini", base_url=server.base_url, api_key="test"
        )
        assert model.invoke("hi").content == "hello"
        assert server.requests[0]["messages"][-1]["content"] == "hi"
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAIServer", "normalize_content", "split_words"]

DEFAULT_MODEL = "gpt-4o-mini"

_PIECE_RE = re.compile(r"\s*\S+|\s+")


def split_words(text: str) -> list[str]:
    """Split ``text`` into word-ish pieces whose concatenation is ``text``.

    Each piece is leading whitespace plus one run of non-whitespace; any
    trailing whitespace is its own piece.
    """
    return _PIECE_RE.findall(text)


def normalize_content(content: Any) -> str:
    """Turn OpenAI message content (string, list of parts, or None) into a string."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif isinstance(part.get("content"), str):
                    texts.append(part["content"])
        return "".join(texts)
    return str(content)


def _usage(messages: list[dict], text: str) -> dict[str, int]:
    prompt = sum(len(m["content"].split()) + 1 for m in messages)
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenAI/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet

    # -- helpers -----------------------------------------------------------
    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, type_: str = "invalid_request_error") -> None:
        self._send_json(status, {"error": {"message": message, "type": type_, "param": None, "code": None}})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- verbs -------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        if self._path() == "/v1/models":
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": DEFAULT_MODEL,
                            "object": "model",
                            "created": 0,
                            "owned_by": "threaddesk-tests",
                        }
                    ],
                },
            )
        else:
            self._error(404, f"Unknown path: GET {self.path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802
        raw = self._read_body()
        if self._path() != "/v1/chat/completions":
            self._error(404, f"Unknown path: POST {self.path}", "not_found")
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            self._error(400, f"Invalid JSON body: {exc}")
            return

        self.fake._record(body)

        raw_messages = body.get("messages") or []
        messages = [
            {"role": str(m.get("role", "")), "content": normalize_content(m.get("content"))}
            for m in raw_messages
            if isinstance(m, dict)
        ]
        try:
            text = self.fake.reply(messages)
        except Exception as exc:  # surface reply bugs as a 500 the client can see
            self._error(500, f"reply() raised {type(exc).__name__}: {exc}", "server_error")
            return
        text = "" if text is None else str(text)

        model = body.get("model") or DEFAULT_MODEL
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        usage = _usage(messages, text)

        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(completion_id, created, model, text, usage, include_usage)
        else:
            self._send_json(
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
            )

    def _stream(
        self,
        completion_id: str,
        created: int,
        model: str,
        text: str,
        usage: dict[str, int],
        include_usage: bool,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        # No Content-Length: the body ends when the connection closes.
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def chunk(delta: dict, finish_reason: str | None = None, **extra: Any) -> dict:
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                payload["usage"] = None
            payload.update(extra)
            return payload

        events: list[Any] = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in split_words(text)]
        events.append(chunk({}, "stop"))
        if include_usage:
            final = chunk({})
            final["choices"] = []
            final["usage"] = usage
            events.append(final)

        try:
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # client went away mid-stream


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeOpenAIServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeOpenAIServer:
    """OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

    ``reply(messages) -> str`` computes the assistant text; ``messages`` is a
    list of ``{"role": str, "content": str}`` dicts. Every JSON body posted to
    ``/v1/chat/completions`` is appended (in order) to ``requests``.
    """

    def __init__(self, reply: Callable[[list[dict]], str]) -> None:
        self.reply = reply
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url: str = ""

    def _record(self, body: dict) -> None:
        with self._lock:
            self.requests.append(body)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running")
        return self._httpd.server_address[1]

    def start(self) -> FakeOpenAIServer:
        if self._httpd is not None:
            return self
        self._httpd = _Server(self)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeOpenAIServer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
