"""The interactive API key offer of the console script."""

from __future__ import annotations

import io

import pytest

from wrapper.cli.api_key_prompt import generate_api_key, offer_api_key


@pytest.mark.parametrize("answer", ["y\n", "YES\n"])
def test_yes_generates_and_shows_the_key_once(answer: str) -> None:
    out = io.StringIO()
    key = offer_api_key(io.StringIO(answer), out, port=8123, generate=lambda: "k" * 32)
    assert key == "k" * 32
    text = out.getvalue()
    assert "API_KEY is not set" in text
    assert text.count("k" * 32) == 2  # the key, and the curl example using it
    assert "http://localhost:8123/v1/models" in text


@pytest.mark.parametrize("answer", ["\n", "n\n", "", "maybe\n"])
def test_anything_else_leaves_the_api_open(answer: str) -> None:
    out = io.StringIO()
    assert offer_api_key(io.StringIO(answer), out, port=8000) is None
    assert "the API is open" in out.getvalue()


def test_generated_keys_are_long_and_random() -> None:
    keys = {generate_api_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(key) == 32 for key in keys)
