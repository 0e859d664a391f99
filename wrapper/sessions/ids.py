"""Client-chosen session ids: what is accepted, and the error for what is not."""

from __future__ import annotations

from wrapper.errors import InvalidRequestError

MAX_SESSION_ID_LENGTH = 128


def validate_session_id(session_id: str, *, param: str = "session_id") -> str:
    """``session_id`` if it is usable: 1 to 128 printable characters.

    Raises:
        InvalidRequestError: the id is empty, too long, or holds control characters.
    """
    if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        raise InvalidRequestError(
            f"A session id must be 1 to {MAX_SESSION_ID_LENGTH} characters long.",
            param=param,
            code="invalid_session_id",
        )
    if not session_id.isprintable():
        raise InvalidRequestError(
            "A session id must hold printable characters only.",
            param=param,
            code="invalid_session_id",
        )
    return session_id
