"""Small JSON documents kept in the session store (SQLite, Redis or memory).

The tools config and the MCP registry ride on the same storage as client
sessions, so they survive restarts and every replica sees the same ones. A
document is one entry under its own key; writing replaces it. Redis drops a key
after the session retention unless it is touched: every read refreshes it.
"""

from __future__ import annotations

from typing import Any

from wrapper.errors import BackendUnavailableError
from wrapper.sessions.protocols import TranscriptStore

_ENTRY_TYPE = "wrapper_document"


class Documents:
    """The documents of one kind (``project``), by name."""

    def __init__(self, transcripts: TranscriptStore, project: str) -> None:
        self.transcripts = transcripts
        self.project = project

    def _key(self, name: str) -> Any:
        return {"project_key": self.project, "session_id": name}

    async def get(self, name: str) -> dict[str, Any] | None:
        """The document ``name``, or ``None``.

        Raises:
            BackendUnavailableError: the store failed.
        """
        try:
            entries = await self.transcripts.load(self._key(name))
            if entries:
                await self.transcripts.retain(self._key(name))
        except self.transcripts.errors as exc:
            raise _unavailable() from exc
        data = entries[-1].get("data") if entries else None
        return data if isinstance(data, dict) else None

    async def put(self, name: str, data: dict[str, Any]) -> None:
        entry: Any = {"type": _ENTRY_TYPE, "uuid": f"{self.project}:{name}", "data": data}
        try:
            await self.transcripts.delete(self._key(name))
            await self.transcripts.append(self._key(name), [entry])
        except self.transcripts.errors as exc:
            raise _unavailable() from exc

    async def delete(self, name: str) -> bool:
        try:
            existed = bool(await self.transcripts.load(self._key(name)))
            await self.transcripts.delete(self._key(name))
        except self.transcripts.errors as exc:
            raise _unavailable() from exc
        return existed

    async def names(self) -> list[str]:
        try:
            listed = await self.transcripts.list_sessions(self.project)
        except self.transcripts.errors as exc:
            raise _unavailable() from exc
        return sorted(entry["session_id"] for entry in listed)


def _unavailable() -> BackendUnavailableError:
    return BackendUnavailableError(
        "The session store is unavailable; retry shortly.",
        code="session_store_unavailable",
        retry_after=1,
    )
