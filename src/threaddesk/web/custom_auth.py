"""Custom authentication the LangGraph way: a `langgraph_sdk.Auth` decides who asks and what they may do.

`THREADDESK_AUTH_PATH=./auth.py:auth` (or `"auth": {"path": ...}` in a
langgraph.json) names the object; `load_auth` imports it once, at start, so a
broken file stops the server then and not at the first request. The same
`auth.py` written for LangGraph's server works here unchanged:

- `@auth.authenticate` gets the parameters it names (`authorization`,
  `headers`, `request`, `path`, `method`, `query_params`, `path_params`,
  `scope`, ...) and returns a user id, a dict/object with `identity`, or
  `(permissions, user)`; raising `Auth.exceptions.HTTPException` refuses
  (401/403). Its `identity` becomes the threaddesk user name, so ownership
  (another user's thread is a 404 like a missing one) holds on top.
- `@auth.on...` handlers are looked up as LangGraph does (resource+action,
  resource, action, global). `None`/`True` allows, `False` or an
  `Auth.exceptions.HTTPException` refuses, a dict is a metadata filter: a
  thread that does not match is a 404 (like a missing one), a search only sees
  threads that match. A create handler may edit `value["metadata"]`, and the
  thread is created with it.

Why the route is classified here (by method and path template) rather than in
each route: every route already depends on the current user, so one place sees
them all, and routes added later are covered by the same rules.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import HTTPConnection, Request

from threaddesk.errors import ThreadDeskError, ThreadNotFound

logger = logging.getLogger(__name__)

# The parameters LangGraph's server passes an `@auth.authenticate` function by name.
SUPPORTED_PARAMETERS = frozenset(
    {"request", "body", "user", "path", "method", "scopes", "path_params", "query_params", "headers"}
    | {"authorization", "scope"}
)
# Metadata equality a search can never satisfy: what an auth filter and the caller's own filter
# disagreeing on a key means (both must hold).
_NO_MATCH = "threaddesk:auth-filter-conflict:0b7f3e52c1a94d6e"


class CustomAuthError(ThreadDeskError, ValueError):
    """The configured auth object cannot be loaded: the message names the path and the reason."""

    code = "invalid_auth_config"


class AuthRefused(Exception):
    """The custom auth refused the request: `status` (401, 403, ...) and `detail` for the answer."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


class AuthUser:
    """What handlers see as `ctx.user`: `identity`, `display_name`, `is_authenticated`, `permissions`,
    and every other field the authenticate function returned (as attributes and items)."""

    def __init__(self, fields: Mapping[str, Any], permissions: Sequence[str]) -> None:
        self._fields = dict(fields)
        self.permissions = list(permissions)

    @property
    def identity(self) -> str:
        return str(self._fields["identity"])

    @property
    def display_name(self) -> str:
        return str(self._fields.get("display_name") or self.identity)

    @property
    def is_authenticated(self) -> bool:
        return bool(self._fields.get("is_authenticated", True))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self.dict()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.dict()

    def get(self, key: str, default: Any = None) -> Any:
        return self.dict().get(key, default)

    def dict(self) -> dict[str, Any]:
        shown = {"identity": self.identity, "display_name": self.display_name}
        return {**self._fields, **shown, "is_authenticated": self.is_authenticated}


def load_auth(path: str, base_dir: str | Path | None = None) -> Any:
    """The `langgraph_sdk.Auth` at `path` (`./auth.py:auth` relative to `base_dir`, or `package.module:auth`).

    Raises `CustomAuthError` naming the path and what is wrong (missing file,
    import error, not an `Auth`, no `@auth.authenticate`).
    """
    from langgraph_sdk import Auth

    module_name, sep, attribute = path.rpartition(":")
    if not sep or not module_name or not attribute:
        raise CustomAuthError(f"auth path {path!r}: use './path/to/file.py:name' or 'package.module:name'")
    try:
        if "/" in module_name or module_name.endswith(".py"):
            file = Path(base_dir or ".") / module_name
            if not file.is_file():
                raise CustomAuthError(f"auth path {path!r}: no file {str(file)!r}")
            spec = importlib.util.spec_from_file_location(f"threaddesk_auth_{abs(hash(str(file)))}", file)
            if spec is None or spec.loader is None:
                raise CustomAuthError(f"auth path {path!r}: cannot load {str(file)!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except CustomAuthError:
        raise
    except Exception as exc:  # whatever the file raises on import: one line naming it
        raise CustomAuthError(f"auth path {path!r}: {type(exc).__name__}: {exc}") from exc
    auth = getattr(module, attribute, None)
    if not isinstance(auth, Auth):
        raise CustomAuthError(f"auth path {path!r}: {attribute!r} is not a langgraph_sdk.Auth")
    if auth._authenticate_handler is None:
        raise CustomAuthError(f"auth path {path!r}: the Auth object has no @auth.authenticate function")
    _check_parameters(path, auth._authenticate_handler)
    return auth


def _check_parameters(path: str, function: Any) -> None:
    unsupported = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if name not in SUPPORTED_PARAMETERS and parameter.default is parameter.empty
    ]
    if unsupported:
        raise CustomAuthError(
            f"auth path {path!r}: @auth.authenticate asks for unsupported parameters {unsupported};"
            f" supported: {', '.join(sorted(SUPPORTED_PARAMETERS))}"
        )


@dataclass(slots=True)
class Resolved:
    """Who the custom auth says is asking."""

    user: AuthUser
    permissions: list[str] = field(default_factory=list)


class CustomAuth:
    """A loaded `Auth` object, called the way LangGraph's server calls it."""

    def __init__(self, auth: Any) -> None:
        self.auth = auth
        self._parameters = (
            set(inspect.signature(auth._authenticate_handler).parameters) & SUPPORTED_PARAMETERS
        )

    @classmethod
    def load(cls, path: str, base_dir: str | Path | None = None) -> CustomAuth:
        return cls(load_auth(path, base_dir))

    async def authenticate(self, connection: HTTPConnection) -> Resolved:
        """Run `@auth.authenticate`; `AuthRefused` if it refuses (or fails: a 401, never a 500)."""
        from langgraph_sdk import Auth

        function = self.auth._authenticate_handler
        try:
            result = function(**await self._arguments(connection))
            if inspect.isawaitable(result):
                result = await result
            return _normalize(result)
        except Auth.exceptions.HTTPException as exc:
            raise AuthRefused(exc.status_code, str(exc.detail), exc.headers) from None
        except Exception as exc:  # a bug or a malformed credential in the auth function: refuse, log why
            logger.warning("custom authentication failed: %s: %s", type(exc).__name__, exc)
            raise AuthRefused(401, "authentication failed") from None

    async def _arguments(self, connection: HTTPConnection) -> dict[str, Any]:
        scope = connection.scope
        headers = dict(scope.get("headers", []))
        available: dict[str, Any] = {
            "scope": scope,
            "path": scope["path"],
            "method": scope.get("method", "GET"),
            "path_params": scope.get("path_params", {}),
            "query_params": connection.query_params,
            "headers": headers,
            "authorization": (headers.get(b"authorization") or b"").decode("latin-1") or None,
            "user": None,
            "scopes": [],
        }
        if "request" in self._parameters:
            available["request"] = connection if isinstance(connection, Request) else Request(scope)
        if "body" in self._parameters:
            available["body"] = await _json_body(connection)
        return {name: available.get(name) for name in self._parameters}

    async def authorize(self, resolved: Resolved, resource: str, action: str, value: dict[str, Any]) -> Any:
        """Run the most specific `@auth.on` handler: the filter dict it returns, or None.

        `AuthRefused` if it returns False (403) or raises `Auth.exceptions.HTTPException`
        (its status), or an `AssertionError` (403), as LangGraph's server does.
        """
        from langgraph_sdk import Auth

        handler = self._handler(resource, action)
        if handler is None:
            return None
        ctx = Auth.types.AuthContext(
            user=resolved.user,
            permissions=resolved.permissions,
            resource=resource,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
        )
        try:
            result = await handler(ctx=ctx, value=value)
        except Auth.exceptions.HTTPException as exc:
            raise AuthRefused(exc.status_code, str(exc.detail), exc.headers) from None
        except AssertionError as exc:
            raise AuthRefused(403, str(exc) or "Forbidden") from None
        if result is None or result is True:
            return None
        if result is False:
            raise AuthRefused(403, "Forbidden")
        if not isinstance(result, dict):
            raise CustomAuthError(
                f"@auth.on handler returned {type(result).__name__}: expected a dict, bool or None"
            )
        return result or None

    def _handler(self, resource: str, action: str) -> Any:
        handlers = self.auth._handlers
        for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
            if key in handlers:
                return handlers[key][-1]
        return self.auth._global_handlers[-1] if self.auth._global_handlers else None


def _normalize(result: Any) -> Resolved:
    """LangGraph's accepted answers of `@auth.authenticate`: an id, `(permissions, user)`, a dict/object."""
    permissions: Sequence[str] = ()
    if isinstance(result, tuple) and len(result) == 2:
        permissions, result = result
    if isinstance(result, str):
        fields: dict[str, Any] = {"identity": result}
    elif isinstance(result, Mapping) and "identity" in result:
        fields = dict(result)
    elif hasattr(result, "identity"):
        fields = {
            name: getattr(result, name)
            for name in ("identity", "display_name", "is_authenticated", "permissions")
            if hasattr(result, name)
        }
    else:
        raise TypeError(
            f"@auth.authenticate returned {type(result).__name__}: expected a user id or an identity"
        )
    permissions = list(fields.get("permissions") or permissions)
    return Resolved(AuthUser(fields, permissions), list(permissions))


async def _json_body(connection: HTTPConnection) -> Any:
    """The request's JSON body (Starlette caches it: the route reads the same object), else None."""
    if not isinstance(connection, Request) or connection.method in ("GET", "HEAD"):
        return None
    try:
        return await connection.json()
    except (ValueError, RecursionError):
        return None


# --- which resource and action a request is, as LangGraph names them ---------------------------------


@dataclass(slots=True)
class Access:
    resource: str
    action: str
    value: dict[str, Any]


def classify(method: str, template: str, path_params: Mapping[str, Any], body: Any) -> Access | None:
    """The (resource, action, value) of a route, or None for routes outside LangGraph's resources."""
    parts = [part for part in template.split("/") if part]
    data = body if isinstance(body, dict) else {}
    if not parts:
        return None
    head, rest = parts[0], parts[1:]
    if head == "threads":
        return _threads(method, rest, path_params, data)
    if head == "runs":  # runs on threads of their own, and LangGraph's bulk cancel
        if rest == ["cancel"]:
            return Access(
                "threads", "update", {"thread_id": None, "action": data.get("action") or "interrupt"}
            )
        if method == "POST" and rest in ([], ["wait"], ["stream"], ["batch"]):
            return Access("threads", "create_run", _run_value(None, data))
        return Access("threads", "read", {"thread_id": None})
    if head == "assistants":
        return _assistants(method, rest, path_params, data)
    if head == "store":
        return _store(method, rest, data)
    return None


def _threads(method: str, rest: list[str], params: Mapping[str, Any], data: dict[str, Any]) -> Access:
    thread_id = params.get("thread_id")
    if not rest:
        if method == "POST":
            return Access(
                "threads",
                "create",
                {
                    "thread_id": data.get("thread_id"),
                    "metadata": data.get("metadata"),
                    "if_exists": data.get("if_exists"),
                },
            )
        return Access("threads", "search", {"metadata": None, "status": None})
    if rest[0] in ("search", "count"):
        keys = ("metadata", "values", "status", "limit", "offset", "ids")
        return Access("threads", "search", {key: data.get(key) for key in keys})
    if rest[0] == "prune":
        return Access("threads", "delete", {"thread_id": None, "thread_ids": data.get("thread_ids")})
    tail = rest[1:]
    value: dict[str, Any] = {"thread_id": thread_id}
    if tail and tail[0] in ("runs", "messages"):
        run_id = params.get("run_id")
        if method == "POST" and (len(tail) == 1 or tail[1] in ("wait", "stream")):
            return Access("threads", "create_run", _run_value(thread_id, data))
        if method == "POST" and tail[-1] == "cancel":
            return Access("threads", "update", {**value, "run_id": run_id, "action": "interrupt"})
        if method == "DELETE":
            return Access("threads", "delete", {**value, "run_id": run_id})
        return Access("threads", "read", {**value, "run_id": run_id})
    if method == "PATCH" or (method == "POST" and tail == ["state"]):
        return Access("threads", "update", {**value, "metadata": data.get("metadata")})
    if method == "DELETE" and not tail:
        return Access("threads", "delete", value)
    return Access("threads", "read", value)


def _run_value(thread_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "assistant_id": data.get("assistant_id"),
        "run_id": None,
        "status": "pending",
        "metadata": data.get("metadata"),
        "multitask_strategy": data.get("multitask_strategy"),
        "if_not_exists": data.get("if_not_exists"),
        "after_seconds": data.get("after_seconds"),
        "kwargs": data,
    }


def _assistants(method: str, rest: list[str], params: Mapping[str, Any], data: dict[str, Any]) -> Access:
    assistant_id = params.get("assistant_id")
    if not rest:
        return Access("assistants", "create", dict(data))
    if rest[0] in ("search", "count"):
        return Access("assistants", "search", dict(data))
    value = {"assistant_id": assistant_id, "metadata": data.get("metadata")}
    if method == "PATCH" or (method == "POST" and rest[-1] == "latest"):
        return Access("assistants", "update", {**data, **value})
    if method == "DELETE":
        return Access("assistants", "delete", {"assistant_id": assistant_id})
    return Access("assistants", "read", value)


def _store(method: str, rest: list[str], data: dict[str, Any]) -> Access | None:
    namespace = tuple(data.get("namespace") or ())
    if rest == ["items"]:
        action = {"PUT": "put", "GET": "get", "DELETE": "delete"}.get(method)
        if action is None:
            return None
        value = {"namespace": namespace, "key": data.get("key")}
        if action == "put":
            value |= {"value": data.get("value"), "index": data.get("index")}
        return Access("store", action, value)
    if rest == ["items", "search"]:
        value = {"namespace": tuple(data.get("namespace_prefix") or ())}
        return Access(
            "store", "search", value | {key: data.get(key) for key in ("filter", "limit", "offset", "query")}
        )
    if rest == ["namespaces"]:
        keys = ("max_depth", "limit", "offset")
        value = {"namespace": tuple(data.get("prefix") or ()), "suffix": tuple(data.get("suffix") or ())}
        return Access("store", "list_namespaces", value | {key: data.get(key) for key in keys})
    return None


# --- applying a handler's answer ---------------------------------------------------------------------


def matches(metadata: Mapping[str, Any], filters: Mapping[str, Any] | None, depth: int = 0) -> bool:
    """LangGraph's filter semantics: equal values, `{"$eq": v}`, `{"$contains": v}`, `$or` / `$and` lists."""
    if not filters:
        return True
    if depth > 2:
        raise CustomAuthError("an @auth.on filter nests operators more than 2 deep")
    for key, wanted in filters.items():
        if key in ("$or", "$and"):
            if not isinstance(wanted, list) or len(wanted) < 2:
                raise CustomAuthError(f"an @auth.on filter's {key} must list at least 2 filters")
            results = (matches(metadata, group, depth + 1) for group in wanted)
            if not (any(results) if key == "$or" else all(results)):
                return False
        elif isinstance(wanted, dict) and wanted:
            operator, operand = next(iter(wanted.items()))
            if key not in metadata:
                return False
            if operator == "$eq" and metadata[key] != operand:
                return False
            if operator == "$contains":
                held = metadata[key]
                needed = operand if isinstance(operand, list) else [operand]
                if not isinstance(held, list) or any(item not in held for item in needed):
                    return False
        elif key not in metadata or metadata[key] != wanted:
            return False
    return True


def equality_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filter as plain `key == value` pairs (what a thread search's `metadata` means).

    `$contains`, `$or` and `$and` cannot be said that way: a `CustomAuthError`.
    """
    plain: dict[str, Any] = {}
    for key, wanted in filters.items():
        if key.startswith("$") or (isinstance(wanted, dict) and next(iter(wanted), "$eq") != "$eq"):
            raise CustomAuthError(
                "threaddesk applies @auth.on search filters as metadata equality only ({key: value} or"
                f" {{key: {{'$eq': value}}}}); got {key!r}"
            )
        plain[key] = wanted["$eq"] if isinstance(wanted, dict) and wanted else wanted
    return plain


def merge_metadata(requested: Any, filters: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's metadata filter AND the auth filter, as one equality filter."""
    merged = dict(requested) if isinstance(requested, dict) else {}
    for key, wanted in equality_filters(filters).items():
        merged[key] = _NO_MATCH if key in merged and merged[key] != wanted else wanted
    return merged


def narrow_query_string(query_string: bytes, filters: Mapping[str, Any]) -> bytes:
    """`GET /threads?metadata=...` with the auth filter merged into its `metadata` parameter."""
    pairs = [(key, value) for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)]
    requested: Any = None
    for key, value in pairs:
        if key == "metadata":
            try:
                requested = json.loads(value)
            except ValueError:
                return query_string  # malformed: the route answers 422 as usual
    merged = merge_metadata(requested, filters)
    kept = [(key, value) for key, value in pairs if key != "metadata"]
    return urlencode([*kept, ("metadata", json.dumps(merged))]).encode("latin-1")


def thread_missing(thread_id: str) -> ThreadNotFound:
    """What a thread an auth filter hides answers: the very error of a missing one."""
    return ThreadNotFound(thread_id)


# --- the current-user dependency's side of it ---------------------------------------------------------


async def authorize_request(
    request: Request, custom: CustomAuth, resolved: Resolved, desk: Any, owner: str | None
) -> None:
    """Run the `@auth.on` handler for this route; apply its filter or let its refusal through.

    `owner` is the caller's ownership scope (None for an admin): threads another
    user owns stay 404 whatever the handler says.
    """
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return
    body = await _json_body(request)
    access = classify(request.method, template, request.path_params, body)
    if access is None:
        return
    value = access.value
    if access.action in ("create", "update", "create_run") and "metadata" in value:
        value["metadata"] = dict(value["metadata"]) if isinstance(value["metadata"], dict) else {}
    filters = await custom.authorize(resolved, access.resource, access.action, value)
    if access.resource != "threads":
        return  # the store is per user already, assistants are shared: their filters do not apply
    if (
        access.action in ("create", "create_run")
        and isinstance(body, dict)
        and isinstance(value.get("metadata"), dict)
    ):
        # A handler may stamp metadata (an owner, a tenant): the thread (or the run) is created with it.
        body["metadata"] = value["metadata"]
    if not filters:
        return
    if access.action == "search":
        if isinstance(body, dict):
            body["metadata"] = merge_metadata(body.get("metadata"), filters)
        elif request.method == "GET":
            request.scope["query_string"] = narrow_query_string(
                request.scope.get("query_string", b""), filters
            )
            request.__dict__.pop("_query_params", None)
        return
    if access.action == "delete" and value.get("thread_id") is None and isinstance(body, dict):
        ids = body.get("thread_ids")
        if isinstance(ids, list):
            body["thread_ids"] = [
                i for i in ids if not isinstance(i, str) or await _visible(desk, i, owner, filters)
            ]
        return
    thread_id = value.get("thread_id")
    if isinstance(thread_id, str) and not await _visible(desk, thread_id, owner, filters):
        raise thread_missing(thread_id)


async def _visible(desk: Any, thread_id: str, owner: str | None, filters: Mapping[str, Any]) -> bool:
    """False if the thread exists (for this caller) and the auth filter does not match its metadata."""
    try:
        thread = await desk.threads.get(thread_id, user_id=owner)
    except ThreadDeskError:
        return True  # missing, malformed id, ...: the route answers as it always does
    return matches(thread.metadata or {}, filters)
