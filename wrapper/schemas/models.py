"""Model list wire types (OpenAI's ``Model`` / ``ListModelsResponse``, plus Claude metadata)."""

from __future__ import annotations

import msgspec


class ModelObject(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    object: str
    created: int
    owned_by: str
    display_name: str | None = None
    type: str | None = None
    created_at: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None


class ModelList(msgspec.Struct):
    data: list[ModelObject]
    object: str = "list"
