"""The tools config in the session store: server-wide, per session, field by field."""

from __future__ import annotations

import pytest

from wrapper.agent.tools_config import ToolsConfig, ToolsConfigStore, checked
from wrapper.errors import InvalidRequestError
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore

pytestmark = pytest.mark.anyio


async def test_a_session_override_wins_field_by_field_and_is_forgotten() -> None:
    store = ToolsConfigStore(MemoryTranscriptStore())
    assert await store.effective(None) == ToolsConfig()
    await store.put(ToolsConfig(allowed_tools=("Read",), permission_mode="plan", max_turns=3))
    await store.put(ToolsConfig(allowed_tools=("Bash",)), "s1")
    mine = await store.effective("s1")
    assert mine.allowed_tools == ("Bash",)
    assert mine.permission_mode == "plan"
    assert mine.max_turns == 3
    assert (await store.effective("other")).allowed_tools == ("Read",)
    await store.forget("s1")
    assert (await store.effective("s1")).allowed_tools == ("Read",)


async def test_writing_replaces_the_stored_config() -> None:
    transcripts = MemoryTranscriptStore()
    store = ToolsConfigStore(transcripts)
    await store.put(ToolsConfig(max_turns=3))
    stamped = await store.put(ToolsConfig(max_turns=4))
    assert stamped.updated_at is not None
    assert (await ToolsConfigStore(transcripts).get()).max_turns == 4


def test_checked_normalises_and_refuses_bad_values() -> None:
    config = checked(ToolsConfig(allowed_tools=("Read", " Read"), permission_mode="acceptedits"))
    assert config.allowed_tools == ("Read",)
    assert config.permission_mode == "acceptEdits"
    for bad, param in (
        (ToolsConfig(disallowed_tools=("Nope",)), "disallowed_tools"),
        (ToolsConfig(max_turns=0), "max_turns"),
        (ToolsConfig(permission_mode="never"), "permission_mode"),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            checked(bad)
        assert caught.value.param == param


async def test_overrides_of_sessions_gone_are_swept() -> None:
    store = ToolsConfigStore(MemoryTranscriptStore())
    await store.put(ToolsConfig(max_turns=2))
    await store.put(ToolsConfig(max_turns=3), "live")
    await store.put(ToolsConfig(max_turns=4), "gone")
    assert await store.sweep(["live"]) == 1
    assert len(await store.session_overrides()) == 1
    assert (await store.get("live")).max_turns == 3
    assert (await store.get(None)).max_turns == 2
