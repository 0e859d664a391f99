"""The console script offers an API key on a terminal, and never prompts otherwise."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ROOT, clean_env, free_port, read_until, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

COMMAND = [sys.executable, "-m", "wrapper.cli"]


def _env(upstream: FakeUpstream, home: str, port: int) -> dict[str, str]:
    return clean_env(
        upstream.url,
        home,
        {"PORT": str(port), "CLAUDE_WRAPPER_HOST": "127.0.0.1", "DATA_DIR": f"{home}/data"},
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_a_terminal_start_offers_a_key_that_is_then_required(upstream: FakeUpstream) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            COMMAND,
            cwd=ROOT,
            env=_env(upstream, home, port),
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.DEVNULL,
        )
        os.close(terminal)
        try:
            read_until(controller, r"Generate an API key for this run\? \[y/N\]")
            os.write(controller, b"y\n")
            shown = read_until(controller, r"Bearer [A-Za-z0-9_-]{32}'")
            key = re.findall(r"\n\s+([A-Za-z0-9_-]{32})\s*\n", shown)[0]
            url = f"http://127.0.0.1:{port}"

            def up() -> bool:
                try:
                    return httpx.get(f"{url}/health", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            assert wait_until(up, timeout=60)
            assert httpx.get(f"{url}/v1/models").status_code == 401
            authed = httpx.get(f"{url}/v1/models", headers={"authorization": f"Bearer {key}"})
            assert authed.status_code == 200
        finally:
            _stop(process)
            os.close(controller)


def test_a_non_interactive_start_never_prompts_and_warns_once(upstream: FakeUpstream) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        log = Path(home) / "server.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                COMMAND,
                cwd=ROOT,
                env=_env(upstream, home, port),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:

            def up() -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).is_success
                except httpx.HTTPError:
                    return False

            assert wait_until(up, timeout=60)  # open: no key was asked for or set
        finally:
            _stop(process)
        output = log.read_text(errors="replace")
    assert "Generate an API key" not in output
    assert output.count('"event": "app.api_open"') == 1
