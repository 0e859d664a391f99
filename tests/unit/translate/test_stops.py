"""Stop sequences applied by the server: the result never depends on how the text was split."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    MessageStart,
    TextDelta,
    TurnEnd,
    Usage,
)
from wrapper.translate.stops import StopScanner, apply_stop_sequences

# No per-example deadline: the suite runs on busy shared machines.
_QUICK = settings(deadline=None, max_examples=75)
# A small alphabet makes matches and near-matches (held-back prefixes) common.
_TEXT = st.text(alphabet="abc\n ", max_size=40)
_STOPS = st.lists(st.text(alphabet="abc\n ", min_size=1, max_size=4), max_size=4)


def _scan(chunks: list[str], stops: list[str]) -> tuple[str, str | None]:
    scanner = StopScanner(stops)
    emitted: list[str] = []
    for chunk in chunks:
        text, matched = scanner.feed(chunk)
        emitted.append(text)
        if matched is not None:
            return "".join(emitted), matched
    return "".join(emitted) + scanner.flush(), None


def _reference(text: str, stops: list[str]) -> tuple[str, str | None]:
    """Generation stops as soon as a stop sequence is complete: the earliest *end* wins."""
    best: tuple[int, int, str] | None = None
    for stop in stops:
        if not stop:
            continue
        at = text.find(stop)
        if at != -1:
            key = (at + len(stop), at, stop)
            if best is None or key[:2] < best[:2]:
                best = key
    if best is None:
        return text, None
    return text[: best[1]], best[2]


@st.composite
def _split(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(_TEXT)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in itertools.pairwise(bounds)]


@_QUICK
@given(_split(), _STOPS)
def test_any_split_gives_the_same_output_as_the_unsplit_text(
    split: tuple[str, list[str]], stops: list[str]
) -> None:
    text, chunks = split
    assert _scan(chunks, stops) == _scan([text], stops)


@_QUICK
@given(_split(), _STOPS)
def test_output_is_the_text_cut_where_the_first_stop_completes(
    split: tuple[str, list[str]], stops: list[str]
) -> None:
    text, chunks = split
    emitted, matched = _scan(chunks, stops)
    expected_text, expected_stop = _reference(text, stops)
    assert emitted == expected_text
    if expected_stop is None:
        assert matched is None
    else:
        assert matched is not None
        assert emitted + matched == text[: len(emitted) + len(matched)]


@_QUICK
@given(_split(), _STOPS)
def test_emitted_text_never_contains_a_stop(split: tuple[str, list[str]], stops: list[str]) -> None:
    _, chunks = split
    emitted, _ = _scan(chunks, stops)
    assert not any(stop in emitted for stop in stops if stop)


def test_text_is_held_back_only_while_it_could_start_a_stop() -> None:
    scanner = StopScanner(["END"])
    assert scanner.feed("hello E") == ("hello ", None)
    assert scanner.feed("N") == ("", None)
    assert scanner.feed("x") == ("ENx", None)
    assert scanner.feed("the EN") == ("the ", None)
    assert scanner.feed("D and more") == ("", "END")


def test_empty_stops_are_ignored() -> None:
    assert _scan(["abc"], ["", "c"]) == ("ab", "c")
    assert _scan(["abc"], [""]) == ("abc", None)


# --------------------------------------------------------------------------------------
# On the event stream


async def _events(items: list[AgentEvent]) -> AsyncIterator[AgentEvent]:
    for item in items:
        yield item


async def _apply(items: list[AgentEvent], stops: tuple[str, ...]) -> list[AgentEvent]:
    out: list[AgentEvent] = []
    generator = apply_stop_sequences(_events(items), stops)
    async for event in generator:
        out.append(event)
    return out


USAGE = Usage(input_tokens=3, output_tokens=9)


def _reply(*pieces: str) -> list[AgentEvent]:
    return [
        MessageStart(model="m"),
        BlockStart(index=0, type="text"),
        *(TextDelta(index=0, text=piece) for piece in pieces),
        BlockStop(index=0),
        BlockStart(index=1, type="tool_use", tool_id="t", tool_name="f"),
        BlockStop(index=1),
        TurnEnd(stop_reason="end_turn", usage=USAGE, model="m"),
    ]


@pytest.mark.anyio
async def test_a_match_ends_the_block_and_sets_the_stop_reason_keeping_real_usage() -> None:
    out = await _apply(_reply("one ST", "OP two"), ("STOP",))
    assert out == [
        MessageStart(model="m"),
        BlockStart(index=0, type="text"),
        TextDelta(index=0, text="one "),
        BlockStop(index=0),
        TurnEnd(stop_reason="stop_sequence", stop_sequence="STOP", usage=USAGE, model="m"),
    ]


@pytest.mark.anyio
async def test_held_text_is_flushed_when_the_block_ends_without_a_match() -> None:
    out = await _apply(_reply("one ST"), ("STOP",))
    texts = [event.text for event in out if isinstance(event, TextDelta)]
    assert texts == ["one ", "ST"]
    assert isinstance(out[-1], TurnEnd)
    assert out[-1].stop_reason == "end_turn"


@pytest.mark.anyio
async def test_without_stops_events_pass_through_unchanged() -> None:
    items = _reply("a", "b")
    assert await _apply(items, ()) == items
