"""Running real coding agents (Claude Code, Codex CLI, the AI SDK) as clients of the server.

Each agent runs as a child process with an environment built from scratch: its own
temporary ``HOME`` (and config directory), the server's loopback URL, a throwaway key,
and nothing inherited that could point it elsewhere. The npm agents come from
``package.json`` beside this file (``npm ci`` there, which ``.ci/run`` does); when they
are missing a test installs them, or skips locally and fails on CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from wrapper.backend.cli_path import claude_cli_path

AGENTS_DIR = Path(__file__).resolve().parent
NODE_MODULES = AGENTS_DIR / "node_modules"
CLIENT_KEY = "sk-agent-test-key"
# Variables that would point an agent at another server, account or proxy.
_DROPPED_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "OPENAI_", "CODEX_", "AWS_", "GOOGLE_", "AZURE_")
_DROPPED = {"HOME", "XDG_CONFIG_HOME", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NODE_OPTIONS"}


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip locally; on CI a missing agent is a failure, never a silent skip."""
    if on_ci():
        pytest.fail(f"{reason}; on CI .ci/run must install it")
    pytest.skip(reason)


def agent_env(home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """An environment that reaches only loopback, with ``home`` as the agent's HOME."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_DROPPED_PREFIXES) and key not in _DROPPED
    }
    env.update({"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"})
    env.update(extra)
    return env


def claude_binary() -> str:
    path = claude_cli_path()
    if path is None:
        unavailable("the claude CLI bundled with claude-agent-sdk is missing")
    assert path is not None
    return path


def npm_modules() -> Path:
    """``node_modules`` of the agents' package, installed with ``npm ci`` if missing."""
    if (NODE_MODULES / ".package-lock.json").is_file():
        return NODE_MODULES
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        unavailable("node and npm are not installed")
    assert npm is not None
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=AGENTS_DIR,
        capture_output=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        unavailable(f"npm ci failed in {AGENTS_DIR}: {done.stderr.decode(errors='replace')[-400:]}")
    return NODE_MODULES


def run_agent(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 90.0
) -> subprocess.CompletedProcess[str]:
    """Run an agent to its end; its output is kept for the assertion messages."""
    return subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
