"""Building the app's dependencies from Settings (called once, in the lifespan).

Everything created here is released through the given exit stack: the backend,
and the isolated working directory when ``CLAUDE_CWD`` is not set.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from wrapper.api.context import AppContext
from wrapper.backend.cold import ColdBackend
from wrapper.backend.options import CliRuntime
from wrapper.backend.versions import CLI_VERSION, SDK_VERSION
from wrapper.config import Settings
from wrapper.models_catalogue import (
    FALLBACK_DEFAULT_MODEL,
    STATIC_MODELS,
    ModelInfo,
    latest_of_family,
)


def _catalogue(settings: Settings) -> tuple[ModelInfo, ...]:
    if not settings.models_override:
        return STATIC_MODELS
    known = {model.id: model for model in STATIC_MODELS}
    return tuple(
        known.get(model_id)
        or ModelInfo(
            id=model_id,
            display_name=model_id,
            family="custom",
            created=0,
            context_window=0,
            max_output_tokens=0,
        )
        for model_id in settings.models_override
    )


def _config_directory(settings: Settings) -> Path:
    """``DATA_DIR/claude``: the CLI's own config dir (transcripts), isolated from HOME."""
    config_dir = Path(settings.data_dir).expanduser().resolve() / "claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    return config_dir


def _working_directory(settings: Settings, stack: AsyncExitStack) -> str:
    if settings.claude_cwd:
        return settings.claude_cwd
    path = tempfile.mkdtemp(prefix="claude-wrapper-cwd-")
    stack.callback(shutil.rmtree, path, True)
    return str(Path(path).resolve())


async def build_context(settings: Settings, stack: AsyncExitStack) -> AppContext:
    """The AppContext for ``settings``; its resources are released by ``stack``."""
    config_dir = await anyio.to_thread.run_sync(_config_directory, settings)
    runtime = CliRuntime(
        config_dir=str(config_dir),
        cwd=_working_directory(settings, stack),
        load_filesystem_settings=settings.load_filesystem_settings,
    )
    backend = ColdBackend(runtime, timeout_s=settings.max_timeout_s)
    models = _catalogue(settings)
    default_model = (
        settings.default_model
        or latest_of_family(models, "sonnet")
        or (models[0].id if models else FALLBACK_DEFAULT_MODEL)
    )
    extras: dict[str, object] = {}
    # -- OpenAI Responses (issue 4): components below this line --
    # -- sessions (issue 6): components below this line --
    # -- operations (issue 7): components below this line --
    return AppContext(
        settings=settings,
        backend=backend,
        models=models,
        default_model=default_model,
        sdk_version=SDK_VERSION,
        cli_version=CLI_VERSION,
        **extras,  # type: ignore[arg-type]
    )
