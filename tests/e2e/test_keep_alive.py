"""Idle client connections: ``claude-wrapper`` closes them after ``KEEP_ALIVE_SECONDS``.

The default (75 s, unit-tested) outlives a client's own idle expiry; here a short
value shows that the setting reaches the server that really runs.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

# hypercorn's own keep-alive is 5 s: a close well before it is the setting's.
KEEP_ALIVE_S = 0.5
WELL_BEFORE_HYPERCORNS_OWN_S = 4.0


def test_an_idle_connection_is_closed_after_the_configured_keep_alive(
    upstream: FakeUpstream,
) -> None:
    env = {"KEEP_ALIVE_SECONDS": str(KEEP_ALIVE_S)}
    with (
        ServerProcess(upstream.url, env=env, console_script=True) as proc,
        socket.create_connection(("127.0.0.1", proc.port), timeout=30) as sock,
    ):
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        answered = time.monotonic()
        # Read to the end: the server, not this client, ends the idle connection.
        while chunk := sock.recv(65536):
            received += chunk
        idle_s = time.monotonic() - answered
    assert received.startswith(b"HTTP/1.1 200")
    assert idle_s < WELL_BEFORE_HYPERCORNS_OWN_S
