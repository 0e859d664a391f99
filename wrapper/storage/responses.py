"""Stored Responses API responses, behind one async Protocol.

``store: true`` (OpenAI's default) keeps a response together with the
conversation that led to it, so ``GET /v1/responses/{id}`` can return it and
``previous_response_id`` can continue it. Values are msgspec Structs (the
neutral :class:`~wrapper.events.Message` model and the wire ``Response``), so a
durable store can keep them as bytes with :func:`encode_stored` /
:func:`decode_stored`. The in-memory store here is bounded in count and age.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.events import Message, Part
from wrapper.schemas.openai_responses_output import Response

DEFAULT_MAX_RESPONSES = 1000
DEFAULT_MAX_AGE_S = 24 * 3600.0


class StoredResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A response and everything needed to continue its conversation.

    ``conversation`` is the whole chain so far: every earlier turn, this request's
    input and this response's output, as neutral messages. ``system`` is the
    text of the system/developer *messages* of the chain (``instructions`` are
    not carried over to a continuation, as in OpenAI's API). ``items`` holds the
    content of each output item by item id: what an ``item_reference`` to it means.
    """

    response: Response
    conversation: tuple[Message, ...]
    system: str | None = None
    stored_at: float = 0.0
    items: dict[str, tuple[Part, ...]] = {}
    owner: str | None = None
    """The client key that stored it (``None``: stored without client keys)."""

    def visible_to(self, owner: str | None) -> bool:
        """Whether ``owner`` may read or continue this response."""
        return self.owner is None or self.owner == owner


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(StoredResponse)


def encode_stored(stored: StoredResponse) -> bytes:
    """``stored`` as bytes for a durable store."""
    return _ENCODER.encode(stored)


def decode_stored(raw: bytes) -> StoredResponse:
    """The inverse of :func:`encode_stored`.

    Raises:
        msgspec.DecodeError: ``raw`` was not written by :func:`encode_stored`.
    """
    return _DECODER.decode(raw)


class ResponseStore(Protocol):
    """Where stored responses live. Implementations must be safe to share across tasks."""

    async def get(self, response_id: str) -> StoredResponse | None:
        """The stored response, or ``None`` if unknown, deleted or expired."""
        ...

    async def put(self, stored: StoredResponse) -> None:
        """Store (or replace) ``stored`` under ``stored.response.id``."""
        ...

    async def delete(self, response_id: str) -> bool:
        """Forget a response; ``False`` if it was not stored."""
        ...

    async def get_item(self, item_id: str, owner: str | None = None) -> tuple[Part, ...] | None:
        """The content of an output item of a stored response ``owner`` may read, or
        ``None`` if unknown."""
        ...


class MemoryResponseStore:
    """An in-process store: the oldest entries go first beyond ``max_items`` or ``max_age_s``.

    Every operation is synchronous inside, so no lock is needed under anyio.
    """

    def __init__(
        self,
        *,
        max_items: int = DEFAULT_MAX_RESPONSES,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_items < 1 or max_age_s <= 0:
            raise ValueError("max_items and max_age_s must be positive")
        self.max_items = max_items
        self.max_age_s = max_age_s
        self._clock = clock
        self._items: OrderedDict[str, StoredResponse] = OrderedDict()
        self._item_owner: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._items)

    def _expired(self, stored: StoredResponse, now: float) -> bool:
        return now - stored.stored_at > self.max_age_s

    def _evict(self, now: float) -> None:
        while self._items:
            oldest = next(iter(self._items.values()))
            if len(self._items) <= self.max_items and not self._expired(oldest, now):
                return
            _, gone = self._items.popitem(last=False)
            self._forget_items(gone)

    def _forget_items(self, stored: StoredResponse) -> None:
        for item_id in stored.items:
            if self._item_owner.get(item_id) == stored.response.id:
                del self._item_owner[item_id]

    async def get(self, response_id: str) -> StoredResponse | None:
        stored = self._items.get(response_id)
        if stored is None:
            return None
        if self._expired(stored, self._clock()):
            del self._items[response_id]
            self._forget_items(stored)
            return None
        return stored

    async def put(self, stored: StoredResponse) -> None:
        now = self._clock()
        stamped = msgspec.structs.replace(stored, stored_at=now)
        replaced = self._items.pop(stored.response.id, None)
        if replaced is not None:
            self._forget_items(replaced)
        self._items[stored.response.id] = stamped
        for item_id in stamped.items:
            self._item_owner[item_id] = stamped.response.id
        self._evict(now)

    async def delete(self, response_id: str) -> bool:
        stored = self._items.pop(response_id, None)
        if stored is None:
            return False
        self._forget_items(stored)
        return True

    async def get_item(self, item_id: str, owner: str | None = None) -> tuple[Part, ...] | None:
        response_id = self._item_owner.get(item_id)
        stored = await self.get(response_id) if response_id is not None else None
        if stored is None or not stored.visible_to(owner):
            return None
        return stored.items.get(item_id)


async def resolve_items(
    store: ResponseStore, references: Sequence[tuple[int, str]], owner: str | None = None
) -> dict[str, tuple[Part, ...]]:
    """The content of each referenced output item (``item_reference`` input items) of
    the responses ``owner`` stored.

    Raises:
        InvalidRequestError: an id names no item of a stored response (``param`` is
            ``input[i].id``).
    """
    found: dict[str, tuple[Part, ...]] = {}
    for index, item_id in references:
        if item_id in found:
            continue
        parts = await store.get_item(item_id, owner)
        if parts is None:
            raise InvalidRequestError(
                f"Item with id {item_id!r} not found: item_reference names an output item of "
                "a stored response (store: true).",
                param=f"input[{index}].id",
            )
        found[item_id] = parts
    return found
