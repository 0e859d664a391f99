"""Log output: JSON lines for machines, readable coloured lines on a terminal."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
import structlog

from wrapper.logging import TerminalRenderer, configure_logging, get_logger, wants_console


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    configure_logging("json", "info")


def _request_line(stream: io.StringIO) -> str:
    structlog.contextvars.bind_contextvars(request_id="req_42")
    try:
        get_logger("test").info(
            "request.completed",
            method="GET",
            path="/v1/models",
            status=200,
            duration_ms=3.1,
            route="models.list",
            client="127.0.0.1",
        )
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    return stream.getvalue()


@pytest.mark.parametrize(
    ("log_format", "terminal", "console"),
    [
        ("auto", True, True),
        ("auto", False, False),
        ("json", True, False),
        ("console", False, True),
    ],
)
def test_the_format_follows_log_format_and_the_terminal(
    log_format: str, terminal: bool, console: bool
) -> None:
    stream: io.StringIO = Terminal() if terminal else io.StringIO()
    assert wants_console(log_format, stream) is console


def test_on_a_terminal_a_request_reads_like_an_access_log_line_in_colour() -> None:
    stream = Terminal()
    configure_logging("auto", "info", stream=stream)
    line = _request_line(stream)
    assert "\x1b[" in line
    plain = _strip(line)
    assert " INFO  GET /v1/models 200 3.1 ms models.list 127.0.0.1 request_id=req_42" in plain
    assert not plain.lstrip().startswith("{")


def test_off_a_terminal_every_line_is_json_stdlib_records_included() -> None:
    stream = io.StringIO()
    configure_logging("auto", "info", stream=stream)
    _request_line(stream)
    logging.getLogger("hypercorn.error").warning("worker %s restarted", 3)
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["event"] == "request.completed"
    assert records[0]["request_id"] == "req_42"
    assert records[0]["timestamp"].endswith("Z")
    assert records[1] == {
        **records[1],
        "event": "worker 3 restarted",
        "level": "warning",
        "logger": "hypercorn.error",
    }


def test_library_records_below_warning_stay_quiet_even_at_their_own_level() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    chatty = logging.getLogger("chatty.library")
    chatty.setLevel(logging.INFO)
    try:
        chatty.info("Running on http://127.0.0.1:8000")
        chatty.warning("a real problem")
    finally:
        chatty.setLevel(logging.NOTSET)
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["a real problem"]


def test_console_without_a_terminal_has_no_colour_codes() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream=stream)
    get_logger("test").warning("app.api_open", message="API_KEY is not set.")
    line = stream.getvalue()
    assert "\x1b[" not in line
    assert line.rstrip().endswith("WARN  app.api_open API_KEY is not set.")


def test_reconfiguring_replaces_the_stdlib_sink_instead_of_stacking_it() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", "info", stream=first)
    configure_logging("json", "info", stream=second)
    logging.getLogger("somelib").warning("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


def test_the_renderer_quotes_values_with_spaces_and_shows_tracebacks() -> None:
    render = TerminalRenderer(colors=False)
    line = render(
        None,
        "info",
        {
            "event": "pool.replaced",
            "level": "info",
            "timestamp": "12:00:00",
            "reason": "worn out",
            "pid": 7,
            "exception": "Traceback: boom",
        },
    )
    assert line == '12:00:00 INFO  pool.replaced reason="worn out" pid=7\nTraceback: boom'
    failed = render(
        None,
        "info",
        {
            "event": "request.completed",
            "level": "info",
            "method": "POST",
            "path": "/v1/messages",
            "status": 503,
        },
    )
    assert failed == "INFO  POST /v1/messages 503"


def _strip(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
