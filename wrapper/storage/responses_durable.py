"""Stored responses kept in the session store (SQLite by default, Redis across replicas).

``previous_response_id`` rides on the same storage as client sessions: a stored
response is one entry under its own key in the session transcript store, so it
survives restarts and any replica can continue it. Entries older than the
store's age limit are treated as gone and swept in the background.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

import anyio
import msgspec

from wrapper.events import Part
from wrapper.logging import get_logger
from wrapper.sessions.protocols import TranscriptStore
from wrapper.storage.responses import DEFAULT_MAX_AGE_S, StoredResponse

log = get_logger(__name__)

PROJECT_KEY = "claude-wrapper-responses"
# Output item id -> the response that holds it (for ``item_reference`` input items).
ITEMS_PROJECT_KEY = "claude-wrapper-response-items"
_ENTRY_TYPE = "stored_response"
_ITEM_ENTRY_TYPE = "stored_response_item"
_TO_BUILTINS = msgspec.json.Encoder()
_FROM_JSON = msgspec.json.Decoder(StoredResponse)


def _key(response_id: str) -> Any:
    return {"project_key": PROJECT_KEY, "session_id": response_id}


def _item_key(item_id: str) -> Any:
    return {"project_key": ITEMS_PROJECT_KEY, "session_id": item_id}


class DurableResponseStore:
    """A :class:`~wrapper.storage.responses.ResponseStore` over a transcript store."""

    def __init__(
        self,
        transcripts: TranscriptStore,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.transcripts = transcripts
        self.max_age_s = max_age_s
        self._clock = clock

    async def get(self, response_id: str) -> StoredResponse | None:
        entries = await self.transcripts.load(_key(response_id))
        if not entries:
            return None
        data = entries[-1].get("data")
        if data is None:
            return None
        stored = _FROM_JSON.decode(_TO_BUILTINS.encode(data))
        if self._clock() - stored.stored_at > self.max_age_s:
            await self.transcripts.delete(_key(response_id))
            return None
        return stored

    async def put(self, stored: StoredResponse) -> None:
        stamped = msgspec.structs.replace(stored, stored_at=self._clock())
        key = _key(stored.response.id)
        entry: Any = {
            "type": _ENTRY_TYPE,
            "uuid": stored.response.id,
            "data": msgspec.to_builtins(stamped),
        }
        await self.transcripts.delete(key)
        await self.transcripts.append(key, [entry])
        for item_id in stored.items:
            index: Any = {
                "type": _ITEM_ENTRY_TYPE,
                "uuid": item_id,
                "data": {"response_id": stored.response.id},
            }
            await self.transcripts.delete(_item_key(item_id))
            await self.transcripts.append(_item_key(item_id), [index])

    async def delete(self, response_id: str) -> bool:
        key = _key(response_id)
        stored = await self.get(response_id)
        existed = bool(await self.transcripts.load(key))
        await self.transcripts.delete(key)
        for item_id in stored.items if stored is not None else ():
            await self.transcripts.delete(_item_key(item_id))
        return existed

    async def get_item(self, item_id: str, owner: str | None = None) -> tuple[Part, ...] | None:
        entries = await self.transcripts.load(_item_key(item_id))
        data = entries[-1].get("data") if entries else None
        response_id = data.get("response_id") if isinstance(data, dict) else None
        stored = await self.get(response_id) if isinstance(response_id, str) else None
        if stored is None or not stored.visible_to(owner):
            return None
        return stored.items.get(item_id)

    async def sweep(self) -> int:
        """Delete responses older than the age limit (and their item index); returns how many."""
        removed = 0
        cutoff_ms = (self._clock() - self.max_age_s) * 1000
        for listed in await self.transcripts.list_sessions(PROJECT_KEY):
            if listed["mtime"] < cutoff_ms:
                await self.transcripts.delete(_key(listed["session_id"]))
                removed += 1
        for listed in await self.transcripts.list_sessions(ITEMS_PROJECT_KEY):
            if listed["mtime"] < cutoff_ms:
                await self.transcripts.delete(_item_key(listed["session_id"]))
        return removed

    async def run_sweeper(self, interval_s: float = 600.0) -> NoReturn:
        """Sweep forever (run in the app's background task group)."""
        while True:
            await anyio.sleep(interval_s)
            try:
                removed = await self.sweep()
            except Exception:
                log.exception("responses.sweep_failed")
            else:
                if removed:
                    log.info("responses.swept", removed=removed)
