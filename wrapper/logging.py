"""structlog configuration: JSON lines for machines, readable coloured lines on a terminal.

Every line carries the request id bound by the app (``structlog.contextvars``).
Event names are dotted (``request.completed``, ``backend.process_spawned``).
Prompts and completions are never logged. Records of stdlib loggers (the SDK's,
hypercorn's) go through the same renderer, so a JSON log holds only JSON lines.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_LEVEL_STYLES = {
    "debug": ("DEBUG", "\x1b[2m"),
    "info": ("INFO ", "\x1b[32m"),
    "warning": ("WARN ", "\x1b[33m"),
    "error": ("ERROR", "\x1b[31m"),
    "critical": ("CRIT ", "\x1b[1;31m"),
    "exception": ("ERROR", "\x1b[31m"),
}


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_console(log_format: str, stream: TextIO) -> bool:
    """Readable lines for ``console``, JSON for ``json``; ``auto``: readable on a terminal."""
    return log_format == "console" or (log_format == "auto" and is_terminal(stream))


class TerminalRenderer:
    """One short line per event: time, level, message, then ``key=value`` pairs.

    A ``request.completed`` event reads like an access log line
    (``GET /v1/models 200 3.1 ms``). An exception's traceback follows its line.
    """

    def __init__(self, colors: bool) -> None:
        self.colors = colors

    def _paint(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.colors else text

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> str:
        fields = dict(event)
        level = str(fields.pop("level", "info"))
        label, style = _LEVEL_STYLES.get(level, (level.upper()[:5].ljust(5), ""))
        timestamp = str(fields.pop("timestamp", ""))
        message = str(fields.pop("event", ""))
        traceback = fields.pop("exception", None)
        fields.pop("logger", None)
        head = [self._paint(_DIM, timestamp), self._paint(style, label)]
        if message == "request.completed" and "status" in fields:
            head.append(self._request(fields))
        else:
            head.append(self._paint(_BOLD, message))
            if isinstance(fields.get("message"), str):
                head.append(fields.pop("message"))
        request_id = fields.pop("request_id", None)
        pairs = [f"{self._paint(_DIM, key + '=')}{_value(value)}" for key, value in fields.items()]
        if request_id is not None:
            pairs.append(self._paint(_DIM, f"request_id={request_id}"))
        line = " ".join(part for part in [*head, *pairs] if part)
        if traceback:
            line += "\n" + self._paint(style, str(traceback))
        return line

    def _request(self, fields: dict[str, Any]) -> str:
        status = fields.pop("status")
        method = fields.pop("method", "")
        path = fields.pop("path", "")
        duration = fields.pop("duration_ms", None)
        code = status if isinstance(status, int) else 0
        tone = "\x1b[32m" if code < 400 else "\x1b[33m" if code < 500 else "\x1b[31m"
        parts = [self._paint(_BOLD, f"{method} {path}"), self._paint(tone, str(status))]
        if duration is not None:
            parts.append(f"{duration} ms")
        for key in ("route", "client"):
            if fields.get(key) is not None:
                parts.append(self._paint(_DIM, str(fields.pop(key))))
        return " ".join(parts)


class _Sink(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler this module installs (replaced, not stacked, when reconfigured)."""


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if isinstance(value, str) and (not value or any(c.isspace() for c in value)):
        return json.dumps(value)
    return text


def configure_logging(
    log_format: str = "auto", level: str = "info", *, stream: TextIO | None = None
) -> None:
    """Configure structlog (and the stdlib loggers it shares a sink with).

    ``log_format`` is ``json``, ``console``, or ``auto`` (readable when the log's
    stream, stderr unless given, is a terminal; JSON lines otherwise). Colours
    are used only on a terminal.
    """
    out = stream if stream is not None else sys.stderr
    numeric_level = _LEVELS.get(level, logging.INFO)
    renderer: Any
    if wants_console(log_format, out):
        stamp = structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False)
        renderer = TerminalRenderer(colors=is_terminal(out))
    else:
        stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
        renderer = structlog.processors.JSONRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        stamp,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = _Sink(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    # Library loggers (the SDK logs through stdlib logging) stay quiet below WARNING, even
    # one that sets its own lower level (hypercorn's, when it is run directly).
    handler.setLevel(max(numeric_level, logging.WARNING))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _Sink)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(max(numeric_level, logging.WARNING))
    # The SDK logs the exit of every CLI this server stops on purpose as an error;
    # its failures are classified (and logged) by wrapper.backend instead.
    if numeric_level > logging.DEBUG:
        logging.getLogger("claude_agent_sdk").setLevel(logging.CRITICAL)


def get_logger(name: str) -> Any:
    """A structlog logger named for its module."""
    return structlog.get_logger(name)
