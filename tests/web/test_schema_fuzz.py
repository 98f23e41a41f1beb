"""schemathesis against the app's own OpenAPI schema: no 5xx, every response as documented.

Bounded and deterministic (a fixed number of examples per operation,
derandomized), on a fresh SQLite file, as an admin so every route is reachable.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

from threaddesk import Settings
from threaddesk.storage import open_storage
from threaddesk.users import UserManager
from threaddesk.web import create_app

EXAMPLES_PER_OPERATION = 25


async def _admin_token(database: Path) -> str:
    storage = await open_storage(str(database))
    try:
        return (await UserManager(storage.users).add("root", admin=True))[1]
    finally:
        await storage.aclose()


@pytest.fixture(scope="module")
def fuzz_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite"


@pytest.fixture(scope="module")
def admin_headers(fuzz_database: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {asyncio.run(_admin_token(fuzz_database))}"}


@pytest.fixture(scope="module")
def api_schema(fuzz_database: Path, admin_headers) -> Iterator[schemathesis.schemas.BaseSchema]:
    app = create_app(Settings(database_url=str(fuzz_database), max_message_bytes=32 * 1024))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    shutdown_lifespans()  # closes the desk the app's lifespan opened


# Schema-valid requests the app may still refuse, for limits JSON Schema cannot state: opaque cursors,
# JSON-in-a-query-string filters, metadata depth/size/NUL, durations over 100 years. Anything else a
# positive (schema-valid) request gets must be a 2xx/401/403/404/409, as schemathesis' own check says.
RUN_422 = re.compile(
    r"^(?:input|command|checkpoint|config|context|stream_mode|stream_resumable|webhook|interrupt_|durability"
    r"|after_seconds|message text|assistant_id|metadata)"
)
ASSISTANT_422 = re.compile(r"^(?:assistant_id|config|context|metadata|name|description)")
SEMANTIC_422 = {
    "GET /threads": re.compile(r"invalid cursor|^metadata|at most 100 years"),
    "POST /threads": re.compile(r"^metadata"),
    "PATCH /threads/{thread_id}": re.compile(r"^metadata"),
    "POST /threads/search": re.compile(r"^metadata"),
    "POST /threads/count": re.compile(r"^metadata"),
    "POST /threads/{thread_id}/state": re.compile(
        r"^as_node|^values|^the state update|^archived_messages|^checkpoint_id|^message text"
        r"|^the support agent"
    ),
    "POST /admin/cleanup": re.compile(r"at most 100 years"),
    "GET /assistants/{assistant_id}/graph": re.compile(r"^xray"),
    # Assistants: ids are UUIDs; config, context and metadata storable JSON; the agent's settings checked.
    "POST /assistants": ASSISTANT_422,
    "PATCH /assistants/{assistant_id}": ASSISTANT_422,
    "POST /assistants/search": re.compile(r"^select"),
    # Store: namespace labels (no '.', storable text), keys, values within the metadata limits.
    "PUT /store/items": re.compile(r"^namespace|^key|^metadata|^value|^ttl"),
    "GET /store/items": re.compile(r"^namespace|^key"),
    "DELETE /store/items": re.compile(r"^namespace|^key"),
    "POST /store/items/search": re.compile(r"^namespace_prefix|^metadata|^filter"),
    "POST /store/namespaces": re.compile(r"^prefix|^suffix|^max_depth"),
    "POST /threads/{thread_id}/history": re.compile(r"^checkpoint_id|^metadata"),
    "POST /threads/{thread_id}/state/checkpoint": re.compile(r"^checkpoint_id"),
    "POST /threads/{thread_id}/runs": RUN_422,
    "POST /runs/wait": RUN_422,
    "POST /runs": RUN_422,
    "POST /runs/batch": RUN_422,
    "POST /runs/stream": RUN_422,
    "GET /threads/{thread_id}/runs": re.compile(r"^status"),
    "POST /threads/{thread_id}/runs/wait": RUN_422,
    "POST /threads/{thread_id}/runs/stream": RUN_422,
    # A handoff's answer: some text, or else a hand back or close (a rule across two fields).
    "POST /threads/{thread_id}/reply": re.compile(r"^without a reply|^message text"),
    "POST /runs/cancel": re.compile(r"^give a status|^a status cancels|^invalid thread id|^run_ids"),
    "GET /threads/{thread_id}/runs/{run_id}/stream": re.compile(r"^Last-Event-ID|^stream_mode"),
}
ACCEPTED = {200, 204, 401, 403, 404, 409}


def _check(case, headers: dict[str, str], mode: GenerationMode) -> None:
    if mode is GenerationMode.NEGATIVE:
        case.call_and_validate(headers=headers)
        return
    response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
    if response.status_code == 422:
        message = response.json()["error"]["message"]
        allowed = SEMANTIC_422.get(case.operation.label)
        assert allowed is not None and allowed.search(message), f"{case.operation.label}: {message}"
    else:
        assert response.status_code in ACCEPTED, (case.operation.label, response.status_code)


# schemathesis' own pytest loader (`from_fixture`) does not run on pytest 9, so each operation gets a
# plain hypothesis test here: valid data (positive) and data the schema forbids (negative).
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_as_documented(api_schema, admin_headers, mode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def answers_as_documented(case) -> None:
            _check(case, admin_headers, mode)

        try:
            answers_as_documented()
        except Unsatisfiable:
            # Nothing in this operation can be made schema-invalid (no parameters, or only free strings).
            assert mode is GenerationMode.NEGATIVE, operation.label


# Values no schema describes but a client can send in any query, header or path parameter: text that
# parses as JSON with integers past Python's 4,300-digit limit, floats past the double range, deep or
# odd JSON, long digit runs. Each route must refuse them with a 4xx, never a 5xx.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_HUGE_DIGITS = st.integers(4_000, 6_000).map(lambda n: "9" * n)
HOSTILE = st.one_of(
    st.text(max_size=50),
    _JSON.map(json.dumps),
    _HUGE_DIGITS,
    _HUGE_DIGITS.map(lambda digits: f'{{"x": {digits}}}'),
    _HUGE_DIGITS.map(lambda digits: f'{{"x": [{{"y": -{digits}}}]}}'),
    st.sampled_from(['{"x": 1e400}', '{"x": NaN}', "-0", "1e999999", "0x10", "\u0000", "%00", "../.."]),
)
# Header values must be one line of visible ASCII for the HTTP client to send them at all.
HOSTILE_HEADER = HOSTILE.filter(lambda value: value.isascii() and value.isprintable() and len(value) < 8000)


@pytest.mark.parametrize("location", ["query", "header", "path"])
def test_no_parameter_value_gets_a_5xx(api_schema, admin_headers, location) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    fuzzed = 0
    for operation in operations:
        names = [p.name for p in operation.iter_parameters() if p.location.value == location]
        if not names:
            continue
        fuzzed += 1
        values = HOSTILE_HEADER if location == "header" else HOSTILE

        @given(case=operation.as_strategy(), name=st.sampled_from(names), value=values)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def never_5xx(case, name: str, value: str) -> None:
            target = {"query": "query", "header": "headers", "path": "path_parameters"}[location]
            parameters = dict(getattr(case, target) or {})
            parameters[name] = value
            setattr(case, target, parameters)
            response = case.call(headers=admin_headers)
            assert response.status_code < 500, (case.operation.label, name, value[:80], response.text[:200])

        never_5xx()
    assert fuzzed >= 2, f"no operation has a {location} parameter"
