"""What belongs to which client key: its sessions and its stored responses.

Sessions are kept apart by construction: the id a named key's client chooses is
stored as ``<key name>/<id>``, so the same id under another key names another
session, and a key can neither see nor continue another key's (its id is simply
unknown: 404). ``API_KEY``'s key and the callers of an open server keep ids as
given (sessions made before named keys stay theirs), and see every session by its
stored id, as the operator's key should; named keys never see those of others.
Stored responses carry their owner's name, and another key's response is
reported as not found, never as forbidden.
"""

from __future__ import annotations

import msgspec

from wrapper.events import Turn
from wrapper.http.request import ANONYMOUS, Caller

_SEPARATOR = "/"


def scoped_session(caller: Caller, session_id: str) -> str:
    """The stored id of the session ``caller`` calls ``session_id``."""
    if not caller.scoped:
        return session_id
    return f"{caller.name}{_SEPARATOR}{session_id}"


def own_session(caller: Caller, stored_id: str) -> str | None:
    """The id ``caller`` knows a stored session by, or ``None`` if it is another key's."""
    if not caller.scoped:
        return stored_id
    prefix = f"{caller.name}{_SEPARATOR}"
    return stored_id[len(prefix) :] if stored_id.startswith(prefix) else None


def scoped_turn(caller: Caller, turn: Turn) -> Turn:
    """``turn`` with its session id (if any) scoped to ``caller``."""
    if turn.session_id is None or not caller.scoped:
        return turn
    return msgspec.structs.replace(turn, session_id=scoped_session(caller, turn.session_id))


def response_owner(caller: Caller) -> str | None:
    """The owner recorded on a response ``caller`` stores (none without client keys)."""
    return None if caller == ANONYMOUS else caller.name
