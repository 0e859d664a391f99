"""The ``session_store`` one leased turn hands the SDK.

It adapts the backend's transcript store for one turn:

* it pins the SDK's project key to this server's own, so a transcript is found
  whatever working directory a replica's CLI runs in (the SDK derives the key
  from the CLI's ``cwd``, which differs between replicas and restarts);
* it tracks appends that failed (the SDK retries a batch, then drops it and
  only reports a ``mirror_error``), so the turn cannot be committed as durable
  when part of its transcript is missing;
* it refuses appends once the lease has ended, so a straggling CLI can never
  write into a session that another turn holds by then;
* it hides the service's own marks subkey from the SDK.
"""

from __future__ import annotations

from wrapper.sessions.protocols import TranscriptStore
from wrapper.sessions.sdk_types import (
    MARKS_SUBPATH,
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
)

_Fingerprint = tuple[str, str, int, tuple[object, ...]]


class LeaseEndedError(RuntimeError):
    """An append arrived after its turn's lease ended."""


def _fingerprint(key: SessionKey, entries: list[SessionStoreEntry]) -> _Fingerprint:
    marks = tuple(entry.get("uuid") or entry.get("type") for entry in entries)
    return key["session_id"], key.get("subpath") or "", len(entries), marks


class LeasedTranscripts(SessionStore):
    """A view of a :class:`TranscriptStore` for one turn; see the module docstring."""

    # Summaries are not kept (nothing here lists sessions through the SDK): the
    # protocol's own default marks the optional method as absent, for the SDK and
    # for its conformance suite alike.
    list_session_summaries = SessionStore.list_session_summaries

    def __init__(self, inner: TranscriptStore, *, project_key: str) -> None:
        self._inner = inner
        self._project_key = project_key
        self._failed: dict[_Fingerprint, str] = {}
        self._open = True
        self.appended = 0

    def _pin(self, key: SessionKey) -> SessionKey:
        pinned: SessionKey = {"project_key": self._project_key, "session_id": key["session_id"]}
        subpath = key.get("subpath")
        if subpath:
            pinned["subpath"] = subpath
        return pinned

    @property
    def intact(self) -> bool:
        """True unless an append failed and was not successfully retried."""
        return not self._failed

    @property
    def failures(self) -> list[str]:
        """What went wrong with the appends still missing (exception class names)."""
        return list(self._failed.values())

    def close(self) -> None:
        """Refuse every later append (the lease is over)."""
        self._open = False

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        if not self._open:
            raise LeaseEndedError("the turn's session lease has ended")
        fingerprint = _fingerprint(key, entries)
        try:
            await self._inner.append(self._pin(key), entries)
        except BaseException as exc:
            self._failed[fingerprint] = type(exc).__name__
            raise
        self._failed.pop(fingerprint, None)
        self.appended += len(entries)

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        return await self._inner.load(self._pin(key))

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        return await self._inner.list_sessions(self._project_key)

    async def delete(self, key: SessionKey) -> None:
        await self._inner.delete(self._pin(key))

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        subkeys = await self._inner.list_subkeys(
            {"project_key": self._project_key, "session_id": key["session_id"]}
        )
        return [subkey for subkey in subkeys if subkey != MARKS_SUBPATH]
