"""The SDK mechanics sessions rely on, proven against the real CLI and the fake upstream.

Turn 1 runs with ``session_store=<our SQLite store>`` and a fresh ``session_id``;
the CLI mirrors its transcript into the store. Turn 2 runs in what stands for
another replica: a new store object on the same file, an EMPTY ``CLAUDE_CONFIG_DIR``
and another working directory, with ``resume=<that id>``. The SDK materialises the
transcript from the store and the upstream receives turn 1 as real user and
assistant messages. See docs/sessions.md ("What the SDK does") for the findings.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from claude_agent_sdk import ClaudeAgentOptions, Message, MirrorErrorMessage, ResultMessage, query

from tests.e2e.harness import clean_env
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore
from wrapper.sessions.sdk_types import SessionKey, SessionStore, SessionStoreEntry
from wrapper.sessions.service import SessionManager
from wrapper.sessions.sqlite_db import SqliteDatabase
from wrapper.sessions.sqlite_index import SqliteSessionIndex
from wrapper.sessions.sqlite_transcripts import SqliteTranscriptStore

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

MODEL = "claude-sonnet-4-6"


def marker() -> str:
    return f"S{uuid.uuid4().hex[:10]}"


class Replica:
    """What one server replica has of its own: a home, a CLI config dir, a cwd."""

    def __init__(self, root: Path, name: str) -> None:
        self.home = root / name / "home"
        self.config_dir = root / name / "claude"
        self.cwd = root / name / "cwd"
        for path in (self.home, self.config_dir, self.cwd):
            path.mkdir(parents=True)


@asynccontextmanager
async def sqlite_manager(path: Path) -> AsyncIterator[SessionManager]:
    """A session manager on the SQLite file ``path`` (a replica's own connections)."""
    database = SqliteDatabase(path)
    await database.open()
    try:
        yield SessionManager(
            index=SqliteSessionIndex(database, project_key="claude-wrapper"),
            transcripts=SqliteTranscriptStore(database),
            ttl_s=3600,
            hold_s=600,
        )
    finally:
        await database.close()


async def run_turn(
    upstream: FakeUpstream,
    replica: Replica,
    prompt: str,
    *,
    store: SessionStore,
    session_id: str | None = None,
    resume: str | None = None,
    extra_args: dict[str, str | None] | None = None,
) -> ResultMessage:
    env = clean_env(upstream.url, str(replica.home))
    env["CLAUDE_CONFIG_DIR"] = str(replica.config_dir)
    options = ClaudeAgentOptions(
        system_prompt="You are the session spike.",
        tools=[],
        setting_sources=[],
        strict_mcp_config=True,
        model=MODEL,
        cwd=str(replica.cwd),
        env=env,
        session_store=store,
        session_id=session_id,
        resume=resume,
        extra_args=extra_args or {},
    )
    result: ResultMessage | None = None
    # One-shot query(): the CLI exits after the turn, so the stream ends by itself.
    # query() is an async generator; the SDK annotates it only as an AsyncIterator.
    replies = cast(AsyncGenerator[Message, None], query(prompt=prompt, options=options))
    async with aclosing(replies) as messages:
        async for message in messages:
            assert not isinstance(message, MirrorErrorMessage), message
            if isinstance(message, ResultMessage):
                result = message
    assert result is not None
    return result


def texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [
        block["text"]
        for block in content
        if block.get("type") == "text" and not block["text"].startswith("<system-reminder>")
    ]


async def test_a_transcript_mirrored_by_one_replica_is_resumed_by_another(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    first, second = marker(), marker()
    upstream.script(first, Reply.text(f"The secret word is PLUM {first}"))
    upstream.script(second, Reply.text(f"You asked before {second}"))
    replica_a, replica_b = Replica(tmp_path, "a"), Replica(tmp_path, "b")
    store_file = tmp_path / "shared" / "sessions.sqlite3"

    async with sqlite_manager(store_file) as manager:
        async with manager.lease("spike-client", model=MODEL) as lease:
            assert lease.is_new
            claude_id = lease.claude_session_id
            result = await run_turn(
                upstream, replica_a, f"Remember a word {first}", store=lease.store,
                session_id=claude_id,
            )  # fmt: skip
            assert result.session_id == claude_id
            # The SDK flushes the mirror before it yields the result: durable now.
            assert lease.store.appended > 0
            await lease.commit(model=MODEL)
        stored = await manager.transcripts.load(lease.key)
        assert stored is not None
        kinds = [entry["type"] for entry in stored]
        assert "user" in kinds and "assistant" in kinds
    # Turn 1 was also written locally, under the replica's CLAUDE_CONFIG_DIR.
    assert list(replica_a.config_dir.glob(f"projects/*/{claude_id}.jsonl"))

    async with sqlite_manager(store_file) as manager:  # "replica B": new connections
        async with manager.lease("spike-client", model=MODEL) as lease:
            assert not lease.is_new
            assert lease.claude_session_id == claude_id
            result = await run_turn(
                upstream, replica_b, f"What was the word? {second}", store=lease.store,
                resume=claude_id,
            )  # fmt: skip
            assert result.session_id == claude_id  # resume continues the same session
            await lease.commit(model=MODEL)
        assert (await manager.get("spike-client")).turn_count == 2
        stored = await manager.transcripts.load(lease.key)
        assert stored is not None
        prompts = [e for e in stored if e["type"] == "user" and "message" in e]
        assert any(second in str(e.get("message")) for e in prompts)

    request = upstream.recorded(second)[-1]
    conversation = [(m["role"], " ".join(texts(m["content"]))) for m in request.body["messages"]]
    assert [role for role, _ in conversation] == ["user", "assistant", "user"]
    assert conversation[0][1].endswith(f"Remember a word {first}")
    assert conversation[1][1] == f"The secret word is PLUM {first}"
    assert conversation[2][1].endswith(f"What was the word? {second}")
    # Replica B's own config dir kept nothing: the SDK resumed from a temp copy.
    assert not list(replica_b.config_dir.glob("projects/**/*.jsonl"))


class CountingStore(MemoryTranscriptStore):
    """A memory store that counts the entries the SDK mirrors into it."""

    def __init__(self) -> None:
        super().__init__()
        self.mirrored = 0

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        self.mirrored += len(entries)
        await super().append(key, entries)


async def test_no_session_persistence_mirrors_nothing(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    """``--no-session-persistence`` (the cold backend's default) disables the mirror:
    a session turn must run without it."""
    tag = marker()
    upstream.script(tag, Reply.text(f"ok {tag}"))
    store = CountingStore()
    await run_turn(
        upstream, Replica(tmp_path, "a"), f"hello {tag}", store=store,
        session_id=str(uuid.uuid4()), extra_args={"no-session-persistence": None},
    )  # fmt: skip
    assert store.mirrored == 0
