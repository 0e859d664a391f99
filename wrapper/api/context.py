"""The dependencies handlers share, built once in the app's lifespan."""

from __future__ import annotations

import time

import msgspec

from wrapper.config import Settings
from wrapper.events import Backend
from wrapper.models_catalogue import ModelInfo


class AppContext(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a handler may use; no handler reaches for a global."""

    settings: Settings
    backend: Backend
    models: tuple[ModelInfo, ...]
    default_model: str
    sdk_version: str = "unknown"
    cli_version: str = "unknown"
    # -- OpenAI Responses (issue 4): fields below this line --
    # -- sessions (issue 6): fields below this line --
    # -- operations (issue 7): fields below this line --
    started_at: float = msgspec.field(default_factory=time.time)
