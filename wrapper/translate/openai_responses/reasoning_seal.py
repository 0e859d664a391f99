"""Claude thinking blocks carried through a Responses ``reasoning`` item's ``encrypted_content``.

A thinking block can only be replayed to Claude byte-exact with its signature.
When a client asks for ``include: ["reasoning.encrypted_content"]`` (as clients
running with ``store: false`` do), the block is sealed into that opaque string;
a reasoning item sent back with it becomes the original block again. The value
is not encrypted: the signature already protects the thinking from tampering,
and the thinking text is also in the item's summary.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from wrapper.events import RedactedThinkingPart, ThinkingPart

PREFIX = "cwr1."


class _Sealed(msgspec.Struct, frozen=True, omit_defaults=True):
    thinking: str | None = None
    signature: str | None = None
    redacted: str | None = None


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Sealed)


def seal(part: ThinkingPart | RedactedThinkingPart) -> str:
    """The ``encrypted_content`` string that carries ``part``."""
    if isinstance(part, ThinkingPart):
        sealed = _Sealed(thinking=part.thinking, signature=part.signature)
    else:
        sealed = _Sealed(redacted=part.data)
    return PREFIX + base64.urlsafe_b64encode(_ENCODER.encode(sealed)).decode("ascii")


def unseal(value: str | None) -> ThinkingPart | RedactedThinkingPart | None:
    """The block sealed in ``value``; ``None`` if ``value`` was not made by :func:`seal`."""
    if not value or not value.startswith(PREFIX):
        return None
    try:
        sealed = _DECODER.decode(base64.urlsafe_b64decode(value[len(PREFIX) :]))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    if sealed.redacted is not None:
        return RedactedThinkingPart(data=sealed.redacted)
    if sealed.signature:
        return ThinkingPart(thinking=sealed.thinking or "", signature=sealed.signature)
    return None
