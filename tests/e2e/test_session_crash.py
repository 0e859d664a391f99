"""kill -9 during and between session turns: nothing acknowledged is lost, nothing else appears.

The server's worker process is killed while a session turn waits on the upstream
(its user message already in the store, its reply never acknowledged), and
again between two turns. Each time the restarted server (same ``DATA_DIR``, the
default SQLite store) serves the session's next turn at once: no 409 from the
dead turn's lease; the model sees every acknowledged turn and never the one that
was cut; the session's turn count agrees.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ServerProcess, descendants, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"


# A stop sequence makes a session turn go the mirrored way (the CLI mirrors its own
# transcript, message by message, during the turn); without one the turn is kept (the
# server writes the transcript once the reply is complete). See backend/kept_sessions.py.
WAYS: dict[str, dict[str, Any]] = {"kept": {}, "mirrored": {"stop": ["NEVER-IN-A-REPLY"]}}


def turn(
    proc: ServerProcess, session: str, text: str, timeout: float = 60, **extra: Any
) -> httpx.Response:
    return httpx.post(
        proc.url + CHAT,
        headers={"x-session-id": session},
        json={
            "model": "claude-sonnet-4-6",
            "messages": [{"role": "user", "content": text}],
            **extra,
        },
        timeout=timeout,
    )


def kill_hard(proc: ServerProcess) -> None:
    """SIGKILL the worker serving requests, then its supervisor: no cleanup runs."""
    assert proc.process is not None
    pid = proc.process.pid
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            os.kill(child, signal.SIGKILL)
    proc.stop(signal.SIGKILL)


def cut_short(proc: ServerProcess, session: str, text: str, extra: dict[str, Any]) -> None:
    """A turn whose server dies under it: the client sees the connection drop."""
    with contextlib.suppress(httpx.HTTPError):
        turn(proc, session, text, **extra)


def stored(data_dir: Path, text: str) -> bool:
    """Whether a main transcript entry in the SQLite store mentions ``text``."""
    uri = f"file:{data_dir / 'sessions.sqlite3'}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM transcript_entries"
                " WHERE subpath = '' AND CAST(entry AS TEXT) LIKE ?",
                (f"%{text}%",),
            ).fetchone()
    except sqlite3.Error:
        return False
    return bool(count)


def history_texts(body: dict[str, Any]) -> str:
    return str(body.get("messages"))


@pytest.mark.parametrize("way", list(WAYS))
def test_kill_9_during_and_between_session_turns(
    upstream: FakeUpstream, tmp_path: Path, way: str
) -> None:
    extra = WAYS[way]
    env = {"DATA_DIR": str(tmp_path / "data")}
    session = f"crash-{uuid.uuid4().hex[:8]}"
    first, cut, after, last = (f"K{uuid.uuid4().hex[:8]}" for _ in range(4))
    upstream.script(cut, Reply.text("never acknowledged", first_delay=60))

    one = ServerProcess(upstream.url, env=env).start()
    try:
        assert turn(one, session, f"{first} remember me", **extra).status_code == 200
        threading.Thread(target=cut_short, args=(one, session, cut, extra), daemon=True).start()
        assert wait_until(lambda: upstream.recorded(cut), timeout=30)
        if way == "mirrored":
            # Killed only once the cut turn's user message is in the store, to be
            # rolled back. A kept turn writes nothing before its reply is complete.
            assert wait_until(lambda: stored(tmp_path / "data", cut), timeout=30)
        kill_hard(one)
    finally:
        one.close()

    two = ServerProcess(upstream.url, env=env).start()
    try:
        response = turn(two, session, f"{after} go on", **extra)
        assert response.status_code == 200, response.text
        seen = history_texts(upstream.recorded(after)[-1].body)
        assert first in seen
        assert cut not in seen and "never acknowledged" not in seen
        # Both recoveries ran: the dead lease was taken over, the cut turn dropped.
        assert "dead_lease_taken_over" in two.log()
        assert ("uncommitted_turn_dropped" in two.log()) == (way == "mirrored")
        assert not stored(tmp_path / "data", cut)
        record = httpx.get(f"{two.url}/v1/sessions/{session}").json()
        assert record["turn_count"] == 2, record
        kill_hard(two)  # between turns: everything above was acknowledged
    finally:
        two.close()

    three = ServerProcess(upstream.url, env=env).start()
    try:
        response = turn(three, session, f"{last} and again", **extra)
        assert response.status_code == 200, response.text
        seen = history_texts(upstream.recorded(last)[-1].body)
        assert first in seen and after in seen and cut not in seen
        assert httpx.get(f"{three.url}/v1/sessions/{session}").json()["turn_count"] == 3
    finally:
        three.close()
