"""What a model or a client can see of the server: no secrets, no addresses.

The model runs ``env`` through Claude Code's Bash tool (the fake upstream asks for
it), and the output it gets back (the tool result sent upstream) names only the
variables a CLI process is allowed; the server's key, its session store URL and a
host secret never appear. The conversations on disk are the owner's alone, and an
upstream error passed on to a client never names a gateway's address.
"""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from wrapper.backend.cli_environment import HOST_NAMES, HOST_PREFIXES, SDK_NAMES

pytestmark = pytest.mark.e2e

KEY = "server-key-e2e-exposure"
SECRET = "hunter2-host-secret"
# What Claude Code and its shell set in the environment of a command they run.
CLI_OWN = {
    "SHLVL",
    "_",
    "OLDPWD",
    "GIT_EDITOR",
    "NoDefaultCurrentDirectoryInExePath",
    "AI_AGENT",
    "COREPACK_ENABLE_AUTO_PIN",
    "CLAUDECODE",
    "CLAUDE_EFFORT",
    "CLAUDE_PID",
}
# What Claude Code's Bash sandbox sets (its own loopback proxies and certificates), and
# the CLAUDE_CODE_* variables Claude Code passes to the commands it runs.
SANDBOX_SET = {
    "SANDBOX_RUNTIME",
    "CLAUDE_TMPDIR",
    "SHELL",
    "TERM",
    "TMPPREFIX",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_DIR",
    "SSL_CERT_FILE",
    "GIT_CONFIG_PARAMETERS",
    "GIT_SSH_COMMAND",
    "ALL_PROXY",
    "FTP_PROXY",
    "GRPC_PROXY",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "RSYNC_PROXY",
    "DOCKER_HTTPS_PROXY",
    "DOCKER_HTTP_PROXY",
    "all_proxy",
    "ftp_proxy",
    "grpc_proxy",
    "http_proxy",
    "https_proxy",
    "no_proxy",
}
CLI_PREFIXES = ("CLAUDE_CODE_", "CLOUDSDK_PROXY_")
# What this server sets for every CLI process (backend/options.py, wiring/root.py).
SERVER_SET = {
    "ENABLE_TOOL_SEARCH",
    "CLAUDE_AGENT_SDK_MCP_NO_PREFIX",
    "DISABLE_AUTOUPDATER",
    "DISABLE_TELEMETRY",
    "CLAUDE_CONFIG_DIR",
    "MCP_TOOL_TIMEOUT",
}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sessions-store-secret")


@pytest.fixture(scope="module")
def tools_server(upstream: FakeUpstream, store_dir: Path) -> Iterator[ServerProcess]:
    store = "sqlite:///" + str(store_dir / "s.sqlite3")
    env = {
        "API_KEY": KEY,
        "ENABLE_SERVER_TOOLS": "true",
        "MY_HOST_SECRET": SECRET,
        "OPERATOR_LISTED": "kept",
        "CLI_ENV_PASSTHROUGH": "OPERATOR_LISTED",
        "SESSION_STORE_URL": store,
    }
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def tool_result_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, str):
                    return inner
                return "\n".join(b.get("text", "") for b in inner or [] if isinstance(b, dict))
    return ""


def test_a_shell_tool_sees_only_allow_listed_variables(
    tools_server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = f"ENV{uuid.uuid4().hex[:8]}"
    upstream.script(tag, Reply.tool("Bash", {"command": "env"}), Reply.text("seen"))
    response = httpx.post(
        tools_server.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {KEY}"},
        json={
            "model": "claude-sonnet-4-6",
            "messages": [{"role": "user", "content": f"{tag} run env"}],
            "enable_tools": True,
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    output = tool_result_text(upstream.recorded(tag)[-1].body)
    names = {line.split("=", 1)[0] for line in output.splitlines() if "=" in line}
    assert "PATH" in names and "HOME" in names, output
    assert "OPERATOR_LISTED=kept" in output
    assert KEY not in output and SECRET not in output
    assert "sessions-store-secret" not in output
    allowed = HOST_NAMES | set(SDK_NAMES) | CLI_OWN | SANDBOX_SET | SERVER_SET | {"OPERATOR_LISTED"}
    unexpected = sorted(
        name
        for name in names
        if name not in allowed and not name.startswith((*HOST_PREFIXES, *CLI_PREFIXES))
    )
    assert not unexpected, output


def test_the_session_database_and_its_wal_are_owner_only(
    tools_server: ServerProcess, upstream: FakeUpstream, store_dir: Path
) -> None:
    tag = f"DB{uuid.uuid4().hex[:8]}"
    upstream.script(tag, Reply.text("stored"))
    response = httpx.post(
        tools_server.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {KEY}", "x-session-id": f"s-{tag}"},
        json={"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": tag}]},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    files = sorted(store_dir.glob("s.sqlite3*"))
    assert {path.name for path in files} >= {"s.sqlite3", "s.sqlite3-wal"}, files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_upstream_error_text_never_names_a_gateway_address(
    tools_server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = f"GW{uuid.uuid4().hex[:8]}"
    message = "upstream connect error at 10.1.2.3:4000 via http://gateway.internal:8080/v1"
    upstream.script(tag, Reply.error(400, "invalid_request_error", message))
    response = httpx.post(
        tools_server.url + "/v1/messages",
        headers={"x-api-key": KEY},
        json={
            "model": "claude-sonnet-4-6",
            "max_tokens": 20,
            "messages": [{"role": "user", "content": tag}],
        },
        timeout=120,
    )
    assert response.status_code == 400, response.text
    text = response.json()["error"]["message"]
    assert "upstream connect error" in text
    for address in ("10.1.2.3", "4000", "gateway.internal", "8080"):
        assert address not in text, text
