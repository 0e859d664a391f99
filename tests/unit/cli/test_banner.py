"""The start-up banner: the URLs, upstream auth, API_KEY and where data lives; no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from wrapper.cli.banner import Banner, describe_session_store, public_url
from wrapper.config import SessionSettings, Settings
from wrapper.upstream.auth import detect_upstream_auth


@pytest.mark.parametrize(
    ("host", "tls", "url"),
    [
        ("0.0.0.0", False, "http://127.0.0.1:8000"),
        ("127.0.0.1", True, "https://127.0.0.1:8000"),
        ("::1", False, "http://[::1]:8000"),
        ("example.internal", False, "http://example.internal:8000"),
    ],
)
def test_the_url_is_one_a_person_can_open(host: str, tls: bool, url: str) -> None:
    assert public_url(host, 8000, tls=tls) == url


def test_a_session_store_is_named_without_its_password(tmp_path: Path) -> None:
    shown = describe_session_store("redis://user:hunter2@cache.internal:6380/0", tmp_path)
    assert shown == "Redis at cache.internal:6380"
    assert describe_session_store(None, tmp_path) == f"SQLite in {tmp_path}"
    assert describe_session_store("memory://", tmp_path).startswith("in memory")


def test_the_banner_says_where_to_go_and_how_it_runs(tmp_path: Path) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-secret-value"}
    settings = Settings(
        host="0.0.0.0",
        api_key="client-secret",
        data_dir=str(tmp_path),
        environ=env,
        sessions=SessionSettings(store_url="redis://:pw@127.0.0.1:6379/0"),
    )
    text = Banner(colors=False).render(
        settings,
        version="9.9.9",
        url="http://127.0.0.1:8000",
        auth=detect_upstream_auth(None, env),
    )
    assert "claude-wrapper 9.9.9" in text
    assert "Landing page    http://127.0.0.1:8000/  (listening on every interface" in text
    assert "http://127.0.0.1:8000/docs" in text
    assert "OpenAI base     http://127.0.0.1:8000/v1" in text
    assert "Upstream auth   Anthropic API key (api_key, detected)" in text
    assert "API_KEY         set" in text
    assert f"Data            {tmp_path}" in text
    assert "Redis at 127.0.0.1:6379" in text
    for secret in ("sk-ant-secret-value", "client-secret", ":pw@"):
        assert secret not in text
    assert "\x1b[" not in text


def test_an_open_server_and_auth_problems_stand_out(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path), host="127.0.0.1")
    text = Banner(colors=True).render(
        settings,
        version="1",
        url="http://127.0.0.1:8000",
        auth=detect_upstream_auth("api_key", {}),
    )
    assert "\x1b[33mnot set: anyone who can reach the port can use it" in text
    assert "from CLAUDE_AUTH_METHOD" in text
    assert "ANTHROPIC_API_KEY is not set." in text
    assert "every interface" not in text
