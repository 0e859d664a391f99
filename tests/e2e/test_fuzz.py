"""Property fuzzing of the real server: generated requests never get an unexpected 5xx or hang.

Two generators, both bounded so the suite stays fast on two cores:

* hypothesis mutates each POST route's documented example (fields replaced, added
  or given values of any JSON shape, streaming on or off) and sends it;
* schemathesis generates requests for every operation of the server's own
  ``GET /openapi.json`` (valid and invalid bodies, paths and query strings).

A 5xx is expected only where the server means it (501 for what it does not
offer, 503 while busy); everything else must be a success or a 4xx, answered
within the request's timeout (a hang fails the test with a timeout error).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

EXPECTED_5XX = {501, 503}
TIMEOUT_S = 60.0

EXAMPLES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {
        "model": "claude-sonnet-4-6",
        "messages": [{"role": "user", "content": "fuzz"}],
    },
    "/v1/compatibility": {"model": "m", "messages": [{"role": "user", "content": "x"}]},
    "/v1/messages": {
        "model": "claude-sonnet-4-6",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "fuzz"}],
    },
    "/v1/messages/count_tokens": {"messages": [{"role": "user", "content": "x"}]},
    "/v1/responses": {"model": "claude-sonnet-4-6", "input": "fuzz"},
}
FIELDS = [
    "model", "messages", "stream", "max_tokens", "temperature", "tools", "tool_choice",
    "system", "input", "instructions", "response_format", "text", "metadata", "stop",
    "n", "thinking", "reasoning", "session_id", "previous_response_id", "stream_options",
    "output_config", "parallel_tool_calls", "top_p", "user", "store", "include",
]  # fmt: skip

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
CHANGES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), JSON, max_size=4)

tally: dict[str, int] = {"cases": 0, "5xx": 0}


@pytest.fixture(scope="module")
def fuzz_server(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {"POOL_MAX_PROCESSES": "2", "DEBUG_MODE": "true", "MAX_TIMEOUT": "30000"}
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc
    print(f"fuzzing: {tally['cases']} cases, {tally['5xx']} unexpected 5xx")


def _check(response: httpx.Response, what: str) -> None:
    tally["cases"] += 1
    status = response.status_code
    if status >= 500 and status not in EXPECTED_5XX:
        tally["5xx"] += 1
        pytest.fail(f"{what}: {status} {response.text[:500]}")
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_mutated_examples_never_get_an_unexpected_5xx(
    fuzz_server: ServerProcess, path: str
) -> None:
    with httpx.Client(base_url=fuzz_server.url, timeout=TIMEOUT_S) as client:

        @settings(
            max_examples=100,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(changes=CHANGES, stream=st.booleans())
        def send(changes: dict[str, Any], stream: bool) -> None:
            body = {**EXAMPLES[path], **changes}
            if stream and "stream" not in changes:
                body["stream"] = True
            raw = json.dumps(body).encode()
            with client.stream(
                "POST", path, content=raw, headers={"content-type": "application/json"}
            ) as response:
                response.read()
            _check(response, f"POST {path} {raw[:300]!r}")

        send()


def test_the_openapi_document_s_operations_never_get_an_unexpected_5xx(
    fuzz_server: ServerProcess,
) -> None:
    schema = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")
    cases = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )

    @settings(
        max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=cases)
    def send(case: Any) -> None:
        response = case.call(base_url=fuzz_server.url, timeout=TIMEOUT_S)
        tally["cases"] += 1
        status = response.status_code
        if status >= 500 and status not in EXPECTED_5XX:
            tally["5xx"] += 1
            pytest.fail(f"{case.method} {case.formatted_path}: {status} {response.text[:500]}")
        assert "Traceback" not in response.text

    send()
