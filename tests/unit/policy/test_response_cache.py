"""The opt-in response cache: canonical keys, TTL, LRU, errors never stored."""

from __future__ import annotations

import msgspec
import pytest

from wrapper.config import load_settings
from wrapper.events import Message, TextPart, ToolSpec, Turn
from wrapper.policy.response_cache import ResponseCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache(clock: Clock | None = None, *, max_size: int = 10) -> ResponseCache:
    return ResponseCache(enabled=True, ttl_s=60, max_size=max_size, clock=clock or Clock())


def turn(text: str = "hi", **kwargs: object) -> Turn:
    base = Turn(
        model="claude-sonnet-4-6", messages=(Message(role="user", content=(TextPart(text),)),)
    )
    return msgspec.structs.replace(base, **kwargs)


ON = {"x-enable-cache": "true"}


@pytest.mark.parametrize(("value", "opted"), [("true", True), ("1", True), ("YES", True)])
def test_opt_in_header(value: str, opted: bool) -> None:
    assert cache().opted_in({"x-enable-cache": value}) is opted


@pytest.mark.parametrize("value", ["false", "0", "", "on"])
def test_other_header_values_do_not_opt_in(value: str) -> None:
    assert cache().opted_in({"x-enable-cache": value}) is False
    assert cache().opted_in({}) is False


def test_the_server_switch_is_needed_too() -> None:
    off = ResponseCache(enabled=False, ttl_s=60, max_size=10)
    assert off.opted_in(ON) is False
    settings = load_settings(
        {
            "REQUEST_CACHE_ENABLED": "true",
            "REQUEST_CACHE_TTL_SECONDS": "5",
            "REQUEST_CACHE_MAX_SIZE": "7",
        }
    )
    assert (settings.cache.enabled, settings.cache.ttl_s) == (True, 5.0)
    assert settings.cache.max_size == 7


def test_keys_are_canonical() -> None:
    schema_a = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "number"}}}
    schema_b = msgspec.json.decode(
        b'{"properties": {"b": {"type": "number"}, "a": {"type": "string"}}, "type": "object"}'
    )
    tool_a = ToolSpec(name="f", description="d", input_schema=schema_a)
    tool_b = ToolSpec(name="f", description="d", input_schema=schema_b)
    assert ResponseCache.key(turn(tools=(tool_a,)), 1) == ResponseCache.key(
        turn(tools=(tool_b,)), 1
    )


def test_everything_the_model_sees_is_in_the_key() -> None:
    base = ResponseCache.key(turn(), 1, False)
    tool = ToolSpec(name="f", description="d", input_schema={"type": "object"})
    different = [
        ResponseCache.key(turn("hello"), 1, False),
        ResponseCache.key(turn(tools=(tool,)), 1, False),
        ResponseCache.key(turn(session_id="s1"), 1, False),
        ResponseCache.key(turn(system="be brief"), 1, False),
        ResponseCache.key(turn(max_output_tokens=5), 1, False),
        ResponseCache.key(turn(), 2, False),
        ResponseCache.key(turn(), 1, True),
    ]
    assert base not in different
    assert len(set(different)) == len(different)


@pytest.mark.anyio
async def test_hits_misses_and_errors_never_cached() -> None:
    responses = cache()
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        return f"answer {calls}"

    async def fail() -> str:
        raise RuntimeError("upstream failed")

    with pytest.raises(RuntimeError):
        await responses.through(ON, ("k",), fail)
    assert await responses.through(ON, ("k",), compute) == ("answer 1", "miss")
    assert await responses.through(ON, ("k",), compute) == ("answer 1", "hit")
    assert await responses.through({}, ("k",), compute) == ("answer 2", None)
    assert await responses.through(ON, ("k",), compute, cacheable=False) == ("answer 3", None)
    stats = responses.stats()
    assert (stats.hits, stats.misses, stats.stores, stats.current_size) == (1, 2, 1, 1)
    assert stats.hit_rate_percent == pytest.approx(33.33)


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    responses = cache(clock)
    responses.put("k", "v")
    clock.now = 59.9
    assert responses.get("k") == "v"
    clock.now = 60.0
    assert responses.get("k") is None
    assert responses.stats().expirations == 1
    assert responses.stats().current_size == 0


def test_the_least_recently_used_entry_goes_first() -> None:
    responses = cache(max_size=2)
    responses.put("a", 1)
    responses.put("b", 2)
    assert responses.get("a") == 1  # a is now the most recent
    responses.put("c", 3)
    assert responses.get("b") is None
    assert responses.get("a") == 1
    assert responses.get("c") == 3
    assert responses.stats().evictions == 1


def test_clear_and_lookup_callback() -> None:
    seen: list[bool] = []
    responses = ResponseCache(enabled=True, ttl_s=60, max_size=5, on_lookup=seen.append)
    responses.put("a", 1)
    responses.get("a")
    responses.get("b")
    assert seen == [True, False]
    assert responses.clear() == 1
    assert responses.stats().current_size == 0
