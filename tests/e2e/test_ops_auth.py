"""Upstream auth through the real server: /v1/auth/status and the lost-login gate.

The CLI-login server runs the real ``claude auth status`` probe against an empty
config directory (no login, and no network use): chat, messages and responses
then answer 401 ``authentication_error`` at once, without starting a CLI.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.e2e.harness import ServerProcess, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

KEY = "test-client-key"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def logged_out(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {"CLAUDE_AUTH_METHOD": "claude_cli", "API_KEY": KEY}
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def test_auth_status_of_the_default_api_key_server(server: ServerProcess) -> None:
    status = httpx.get(f"{server.url}/v1/auth/status").json()
    assert status["claude_code_auth"] == {
        "method": "api_key",
        "source": "auto",
        "configured": True,
        "problems": [],
        "environment_variables": ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"],
    }
    assert status["cli_health"] is None
    assert status["server_info"]["api_key_required"] is False


def test_auth_status_needs_the_api_key(logged_out: ServerProcess) -> None:
    assert httpx.get(f"{logged_out.url}/v1/auth/status").status_code == 401


def test_a_lost_cli_login_is_401_on_every_chat_route(
    logged_out: ServerProcess, upstream: FakeUpstream
) -> None:
    def probed() -> bool:
        status = httpx.get(f"{logged_out.url}/v1/auth/status", headers=AUTH).json()
        return status["cli_health"]["last_probed_at"] is not None

    assert wait_until(probed, timeout=30)
    status = httpx.get(f"{logged_out.url}/v1/auth/status", headers=AUTH).json()
    assert status["claude_code_auth"]["method"] == "cli"
    assert status["claude_code_auth"]["source"] == "CLAUDE_AUTH_METHOD"
    health = status["cli_health"]
    assert health["ok"] is False
    assert health["gated"] is True
    assert health["error_kind"] == "not_logged_in"
    assert health["cli_auth_method"] == "none"
    assert health["probe"] == "claude auth status"
    assert health["probe_interval_seconds"] == 600
    assert status["server_info"]["api_key_required"] is True

    marker = f"A{uuid.uuid4().hex[:10]}"
    oa = openai.OpenAI(base_url=f"{logged_out.url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as chat:
        oa.chat.completions.create(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": marker}]
        )
    assert chat.value.status_code == 401
    error = chat.value.response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == "claude_cli_not_authenticated"
    assert "claude auth login" in error["message"]
    with pytest.raises(openai.AuthenticationError):
        oa.responses.create(model="claude-sonnet-4-6", input=marker)

    an = anthropic.Anthropic(base_url=logged_out.url, api_key=KEY, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as messages:
        an.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": marker}]
        )
    body = messages.value.response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"

    # Nothing reached Claude, and other routes still work.
    assert upstream.recorded(marker) == []
    assert httpx.get(f"{logged_out.url}/v1/models", headers=AUTH).status_code == 200
