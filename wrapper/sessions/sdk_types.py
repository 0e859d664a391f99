"""The SDK's ``SessionStore`` protocol and its key and entry types, in one place.

This package implements the claude-agent-sdk's transcript-mirroring protocol, so it
needs the protocol's types; this module is the only one here that imports the SDK.
The stores subclass :class:`SessionStore` explicitly: the SDK (and its conformance
suite) tells an implemented optional method from an absent one by comparing it
with the protocol's default, so methods a store leaves out stay "absent".
"""

from __future__ import annotations

from claude_agent_sdk.types import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
)

__all__ = [
    "SessionKey",
    "SessionListSubkeysKey",
    "SessionStore",
    "SessionStoreEntry",
    "SessionStoreListEntry",
    "main_key",
    "marks_key",
]

# The subkey where the service records how much of a transcript is kept (see
# SessionManager); never shown to the SDK.
MARKS_SUBPATH = "wrapper-marks"


def main_key(project_key: str, session_id: str) -> SessionKey:
    """The key of a session's main transcript (no ``subpath``)."""
    return {"project_key": project_key, "session_id": session_id}


def marks_key(project_key: str, session_id: str) -> SessionKey:
    """The key of a session's kept-length marks (a subkey the SDK never sees)."""
    return {"project_key": project_key, "session_id": session_id, "subpath": MARKS_SUBPATH}
