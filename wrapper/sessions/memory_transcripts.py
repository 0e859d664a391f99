"""``memory://``: transcripts in this process's memory (tests only; lost on exit)."""

from __future__ import annotations

import time

from wrapper.sessions.sdk_types import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
)

_Slot = tuple[str, str, str]


def _slot(key: SessionKey) -> _Slot:
    return key["project_key"], key["session_id"], key.get("subpath") or ""


class MemoryTranscriptStore(SessionStore):
    """Entries per key in a dict; duplicate ``uuid`` entries are ignored."""

    # Summaries are not kept (nothing here lists sessions through the SDK): the
    # protocol's own default marks the optional method as absent, for the SDK and
    # for its conformance suite alike.
    list_session_summaries = SessionStore.list_session_summaries

    kind = "memory"
    errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._entries: dict[_Slot, list[SessionStoreEntry]] = {}
        self._mtimes: dict[_Slot, int] = {}
        self._last_mtime = 0

    def _next_mtime(self) -> int:
        now = int(time.time() * 1000)
        self._last_mtime = max(now, self._last_mtime + 1)
        return self._last_mtime

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        if not entries:
            return
        slot = _slot(key)
        stored = self._entries.setdefault(slot, [])
        seen = {entry.get("uuid") for entry in stored if isinstance(entry.get("uuid"), str)}
        for entry in entries:
            uuid = entry.get("uuid")
            if isinstance(uuid, str):
                if uuid in seen:
                    continue
                seen.add(uuid)
            stored.append(entry)
        self._mtimes[slot] = self._next_mtime()

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        stored = self._entries.get(_slot(key))
        return list(stored) if stored else None

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        return [
            {"session_id": slot[1], "mtime": self._mtimes[slot]}
            for slot in self._entries
            if slot[0] == project_key and not slot[2]
        ]

    async def delete(self, key: SessionKey) -> None:
        slot = _slot(key)
        doomed = [slot]
        if not slot[2]:
            doomed += [s for s in self._entries if s[:2] == slot[:2] and s[2]]
        for each in doomed:
            self._entries.pop(each, None)
            self._mtimes.pop(each, None)

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        return [
            slot[2]
            for slot in self._entries
            if slot[0] == key["project_key"] and slot[1] == key["session_id"] and slot[2]
        ]

    async def count(self, key: SessionKey) -> int:
        return len(self._entries.get(_slot(key), ()))

    async def truncate(self, key: SessionKey, keep: int) -> None:
        slot = _slot(key)
        stored = self._entries.get(slot)
        if stored is None:
            return
        del stored[keep:]
        if not stored:
            self._entries.pop(slot, None)
            self._mtimes.pop(slot, None)

    async def retain(self, key: SessionKey) -> None:
        return None
