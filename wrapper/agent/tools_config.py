"""The tools config: the defaults of Claude Code's tools, server-wide and per session.

``POST /v1/tools/config`` sets them; every later tool-enabled request uses them
where it does not say otherwise (its headers win; its disallowed tools are added
to the config's). A session's config overrides the server-wide one field by
field. Both are kept in the session store (:mod:`wrapper.agent.documents`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import TypeVar

import msgspec

from wrapper.agent.catalogue import checked_tools, permission_mode
from wrapper.agent.documents import Documents
from wrapper.errors import InvalidRequestError
from wrapper.sessions.protocols import TranscriptStore

_T = TypeVar("_T")

PROJECT_KEY = "claude-wrapper-tools-config"
_GLOBAL = "global"


class ToolsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Defaults of tool-enabled requests; ``None``: not set here."""

    allowed_tools: tuple[str, ...] | None = None
    disallowed_tools: tuple[str, ...] | None = None
    permission_mode: str | None = None
    max_turns: int | None = None
    mcp_servers: tuple[str, ...] | None = None
    updated_at: float | None = None

    def over(self, base: ToolsConfig) -> ToolsConfig:
        """This config's fields where set, ``base``'s elsewhere."""
        return ToolsConfig(
            allowed_tools=_first(self.allowed_tools, base.allowed_tools),
            disallowed_tools=_first(self.disallowed_tools, base.disallowed_tools),
            permission_mode=_first(self.permission_mode, base.permission_mode),
            max_turns=_first(self.max_turns, base.max_turns),
            mcp_servers=_first(self.mcp_servers, base.mcp_servers),
            updated_at=_first(self.updated_at, base.updated_at),
        )


def _first(value: _T | None, fallback: _T | None) -> _T | None:
    return value if value is not None else fallback


def checked(config: ToolsConfig) -> ToolsConfig:
    """``config`` with its names normalised.

    Raises:
        InvalidRequestError: a tool name, permission mode or step limit is unusable.
    """
    allowed = config.allowed_tools
    disallowed = config.disallowed_tools
    if config.max_turns is not None and config.max_turns < 1:
        raise InvalidRequestError("max_turns must be a positive integer.", param="max_turns")
    return msgspec.structs.replace(
        config,
        allowed_tools=None if allowed is None else checked_tools(allowed, "allowed_tools"),
        disallowed_tools=(
            None if disallowed is None else checked_tools(disallowed, "disallowed_tools")
        ),
        permission_mode=permission_mode(config.permission_mode, "permission_mode"),
    )


def _name(session_id: str | None) -> str:
    if session_id is None:
        return _GLOBAL
    return "session-" + hashlib.sha256(session_id.encode()).hexdigest()[:32]


class ToolsConfigStore:
    """The server-wide config and the sessions' overrides."""

    def __init__(self, transcripts: TranscriptStore) -> None:
        self.documents = Documents(transcripts, PROJECT_KEY)

    async def get(self, session_id: str | None = None) -> ToolsConfig:
        """The config set for ``session_id`` (server-wide when ``None``); empty if none."""
        data = await self.documents.get(_name(session_id))
        return ToolsConfig() if data is None else msgspec.convert(data, ToolsConfig)

    async def effective(self, session_id: str | None) -> ToolsConfig:
        """What a request of ``session_id`` gets: the session's fields over the server's."""
        base = await self.get(None)
        if session_id is None:
            return base
        return (await self.get(session_id)).over(base)

    async def put(self, config: ToolsConfig, session_id: str | None = None) -> ToolsConfig:
        """Store ``config`` (already :func:`checked`) for ``session_id``; returns it stamped."""
        stamped = msgspec.structs.replace(config, updated_at=time.time())
        await self.documents.put(_name(session_id), msgspec.to_builtins(stamped))
        return stamped

    async def forget(self, session_id: str) -> None:
        """Drop a session's override (the session was deleted)."""
        await self.documents.delete(_name(session_id))

    async def session_overrides(self) -> list[str]:
        """The stored names of the sessions' overrides."""
        return [name for name in await self.documents.names() if name != _GLOBAL]

    async def sweep(self, live_sessions: Iterable[str]) -> int:
        """Drop the overrides of sessions that no longer exist; returns how many."""
        keep = {_name(session_id) for session_id in live_sessions}
        doomed = [name for name in await self.session_overrides() if name not in keep]
        for name in doomed:
            await self.documents.delete(name)
        return len(doomed)
