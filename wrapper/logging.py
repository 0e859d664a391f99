"""structlog configuration: JSON lines in production, a readable console in development.

Every line carries the request id bound by the app (``structlog.contextvars``).
Event names are dotted (``request.completed``, ``backend.process_spawned``).
Prompts and completions are never logged.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(log_format: str = "auto", level: str = "info") -> None:
    """Configure structlog (and the stdlib loggers it shares a sink with).

    ``log_format`` is ``json``, ``console``, or ``auto`` (console when stderr is a
    terminal, JSON otherwise).
    """
    use_console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    numeric_level = _LEVELS.get(level, logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if use_console:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Library loggers (the SDK logs through stdlib logging) stay quiet below WARNING.
    logging.basicConfig(level=max(numeric_level, logging.WARNING), stream=sys.stderr)
    # The SDK logs the exit of every CLI this server stops on purpose as an error;
    # its failures are classified (and logged) by wrapper.backend instead.
    if numeric_level > logging.DEBUG:
        logging.getLogger("claude_agent_sdk").setLevel(logging.CRITICAL)


def get_logger(name: str) -> Any:
    """A structlog logger named for its module."""
    return structlog.get_logger(name)
