"""A turn whose server died: its lease is taken over at once and its entries dropped."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import cast

import pytest

from tests.unit.sessions.backends import FakeClock, manager_for, shared_store
from wrapper.errors import ConflictError
from wrapper.sessions.holders import holder_is_dead, new_token
from wrapper.sessions.sdk_types import SessionStoreEntry, main_key

pytestmark = pytest.mark.anyio


def _entries(*names: str) -> list[SessionStoreEntry]:
    return [
        cast(SessionStoreEntry, {"type": "user", "uuid": str(uuid.uuid4()), "text": name})
        for name in names
    ]


def _dead_token() -> str:
    """The token a process that has exited would have held."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from wrapper.sessions.holders import new_token; print(new_token())",
        ],
        capture_output=True,
        check=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    return done.stdout.strip()


def test_a_running_process_is_alive_and_an_exited_one_dead() -> None:
    assert not holder_is_dead(new_token())
    assert holder_is_dead(_dead_token())
    host, boot, pid, start, rand = new_token().split("/")
    assert not holder_is_dead("/".join(("another-host", boot, pid, start, rand)))
    assert holder_is_dead("/".join((host, "a-boot-before-this-one", pid, start, rand)))
    assert not holder_is_dead("0123456789abcdef")  # not a holder token at all
    assert os.getpid() == int(pid)


def test_a_killed_holder_not_yet_reaped_is_dead() -> None:
    # A worker killed after its parent is reparented and stays a zombie until reaped.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from wrapper.sessions.holders import new_token; print(new_token(), flush=True)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert child.stdout is not None
        token = child.stdout.readline().strip()
        # Wait for its exit without reaping it: it is a zombie from here on.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] == "Z"
        assert holder_is_dead(token)
    finally:
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


async def test_a_dead_holder_s_turn_is_dropped_and_its_lease_taken_over(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), clock)
        session = f"crash-{uuid.uuid4().hex[:8]}"
        async with manager.lease(session) as lease:
            await lease.store.append(main_key("/cwd", lease.claude_session_id), _entries("one"))
            await lease.commit()
        claude_id = lease.claude_session_id
        # A second turn starts, appends its user message, and its server is killed.
        dead = _dead_token()
        held = await manager.index.acquire(
            session, token=dead, claude_session_id="x", model=None, now=clock.now,
            ttl_s=3600, hold_s=600,
        )  # fmt: skip
        assert held is not None
        key = main_key(manager.project_key, claude_id)
        await manager.transcripts.append(key, _entries("cut off"))
        async with manager.lease(session) as lease:
            assert not lease.is_new
            assert lease.mark == 1
            await lease.store.append(main_key("/cwd", claude_id), _entries("two"))
            await lease.commit()
        loaded = await manager.transcripts.load(key) or []
        assert [entry.get("text") for entry in loaded] == ["one", "two"]
        assert (await manager.get(session)).turn_count == 2


async def test_a_live_holder_still_gets_409(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), clock)
        session = f"busy-{uuid.uuid4().hex[:8]}"
        async with manager.lease(session):
            with pytest.raises(ConflictError):
                async with manager.lease(session):
                    pass


async def test_the_marks_are_hidden_from_the_sdk(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), clock)
        session = f"marks-{uuid.uuid4().hex[:8]}"
        async with manager.lease(session) as lease:
            await lease.store.append(main_key("/cwd", lease.claude_session_id), _entries("a"))
            await lease.commit()
        async with manager.lease(session) as lease:
            subkeys = await lease.store.list_subkeys(
                {"project_key": "/cwd", "session_id": lease.claude_session_id}
            )
            assert subkeys == []
