"""SSE framing: whatever the text, a frame parses back to exactly one event with that data."""

from __future__ import annotations

import re
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wrapper.http.sse import PING_FRAME, encode_comment, encode_event

# No per-example deadline: the suite runs on busy shared machines.
_QUICK = settings(deadline=None, max_examples=75)
_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEEvent(NamedTuple):
    event: str | None
    data: str


def parse_sse(stream: bytes) -> list[SSEEvent]:
    """A small reader following the WHATWG event-stream rules (CR, LF and CRLF end lines)."""
    text = stream.decode("utf-8")
    lines = _LINE_END.split(text)
    # A trailing line with no terminator is incomplete and not processed.
    lines = lines[:-1]
    events: list[SSEEvent] = []
    data: list[str] = []
    event: str | None = None
    seen_field = False
    for line in lines:
        if line == "":
            if seen_field and data:
                events.append(SSEEvent(event, "\n".join(data)))
            data, event, seen_field = [], None, False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        seen_field = True
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    return events


def _normalised(text: str) -> str:
    return _LINE_END.sub("\n", text)


@_QUICK
@given(st.text())
def test_any_text_round_trips_as_one_event(text: str) -> None:
    assert parse_sse(encode_event(text)) == [SSEEvent(None, _normalised(text))]


@_QUICK
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_concatenated_frames_stay_separate(texts: list[str]) -> None:
    stream = b"".join(encode_event(text) for text in texts)
    assert parse_sse(stream) == [SSEEvent(None, _normalised(text)) for text in texts]


@_QUICK
@given(st.text(), st.text().filter(lambda name: _LINE_END.search(name) is None))
def test_named_events_round_trip(data: str, name: str) -> None:
    assert parse_sse(encode_event(data, event=name)) == [SSEEvent(name, _normalised(data))]


@_QUICK
@given(st.text(), st.text())
def test_comments_never_produce_or_break_events(comment: str, data: str) -> None:
    stream = encode_comment(comment) + PING_FRAME + encode_event(data)
    assert parse_sse(stream) == [SSEEvent(None, _normalised(data))]


@pytest.mark.parametrize("name", ["a\nb", "a\rb", "a\r\nb", "\n", "message\n"])
def test_event_names_with_line_breaks_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        encode_event("x", event=name)


@pytest.mark.parametrize(
    ("data", "event", "expected"),
    [
        ("hello", None, b"data: hello\n\n"),
        ("a\nb", None, b"data: a\ndata: b\n\n"),
        ("a\r\nb\rc", None, b"data: a\ndata: b\ndata: c\n\n"),
        ("", None, b"data: \n\n"),
        ("{}", "ping", b"event: ping\ndata: {}\n\n"),
        ("[DONE]", None, b"data: [DONE]\n\n"),
    ],
)
def test_exact_frames(data: str, event: str | None, expected: bytes) -> None:
    assert encode_event(data, event=event) == expected


def test_ping_frame_is_a_comment() -> None:
    assert PING_FRAME == b": ping\n\n"
    assert parse_sse(PING_FRAME) == []
    assert encode_comment("ping") == PING_FRAME
    assert encode_comment("a\nb") == b": a\n: b\n\n"


def test_unicode_line_separators_are_data_not_line_breaks() -> None:
    text = "one\u2028two\x85three\u2029four"
    assert parse_sse(encode_event(text)) == [SSEEvent(None, text)]
