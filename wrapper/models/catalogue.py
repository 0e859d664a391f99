"""The static model catalogue: Claude model ids the bundled CLI (2.1.330) knows.

Served by ``GET /v1/models`` when no live catalogue is available, pinned by
``CLAUDE_MODELS_OVERRIDE``. ``created`` is approximate for this static list
(the first day of the model's knowledge-cutoff month); the live catalogue
carries Anthropic's real dates.
"""

from __future__ import annotations

import msgspec


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    display_name: str
    family: str
    created: int
    context_window: int
    max_output_tokens: int


def _m(  # noqa: PLR0917 - a compact table row
    model_id: str, name: str, family: str, created: int, window: int, max_out: int
) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        display_name=name,
        family=family,
        created=created,
        context_window=window,
        max_output_tokens=max_out,
    )


# Newest first within each family.
STATIC_MODELS: tuple[ModelInfo, ...] = (
    _m("claude-opus-5-5", "Claude Opus 5.5", "opus", 1780272000, 1_000_000, 128_000),
    _m("claude-sonnet-5-5", "Claude Sonnet 5.5", "sonnet", 1780272000, 1_000_000, 128_000),
    _m("claude-haiku-5-5", "Claude Haiku 5.5", "haiku", 1780272000, 1_000_000, 128_000),
    _m("claude-fable-5-2", "Claude Fable 5.2", "fable", 1780272000, 1_000_000, 128_000),
    _m("claude-fable-5-1", "Claude Fable 5.1", "fable", 1780272000, 1_000_000, 128_000),
    _m("claude-opus-5", "Claude Opus 5", "opus", 1777593600, 1_000_000, 128_000),
    _m("claude-sonnet-5", "Claude Sonnet 5", "sonnet", 1767225600, 1_000_000, 128_000),
    _m("claude-fable-5", "Claude Fable 5", "fable", 1767225600, 1_000_000, 128_000),
    _m("claude-opus-4-8", "Claude Opus 4.8", "opus", 1767225600, 1_000_000, 128_000),
    _m("claude-opus-4-7", "Claude Opus 4.7", "opus", 1767225600, 1_000_000, 128_000),
    _m("claude-sonnet-4-6", "Claude Sonnet 4.6", "sonnet", 1754006400, 200_000, 128_000),
    _m("claude-opus-4-6", "Claude Opus 4.6", "opus", 1746057600, 200_000, 128_000),
    _m("claude-opus-4-5-20251101", "Claude Opus 4.5", "opus", 1746057600, 200_000, 64_000),
    _m("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "haiku", 1738368000, 200_000, 64_000),
    _m("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "sonnet", 1735689600, 200_000, 64_000),
    _m("claude-opus-4-1-20250805", "Claude Opus 4.1", "opus", 1735689600, 200_000, 32_000),
    _m("claude-sonnet-4-20250514", "Claude Sonnet 4", "sonnet", 1735689600, 200_000, 64_000),
    _m("claude-opus-4-20250514", "Claude Opus 4", "opus", 1735689600, 200_000, 32_000),
)

FALLBACK_DEFAULT_MODEL = "claude-sonnet-5-5"


def latest_of_family(models: tuple[ModelInfo, ...], family: str) -> str | None:
    """The newest model id of ``family`` (by ``created``, then catalogue order)."""
    best: ModelInfo | None = None
    for model in models:
        if model.family == family and (best is None or model.created > best.created):
            best = model
    return best.id if best else None
