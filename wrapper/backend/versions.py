"""Versions of the SDK and of the CLI it bundles (reported by ``GET /version``)."""

from __future__ import annotations

from claude_agent_sdk import __version__ as SDK_VERSION
from claude_agent_sdk._cli_version import __cli_version__ as CLI_VERSION

__all__ = ["CLI_VERSION", "SDK_VERSION"]
