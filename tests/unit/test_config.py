"""Settings from the environment: defaults, parsing, and bad values naming their variable."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from wrapper.config import (
    PASSTHROUGH_VARIABLES,
    ConfigError,
    Settings,
    documented_variables,
    load_settings,
)


def test_defaults_with_an_empty_environment() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.port == 8000
    assert settings.host is None
    assert settings.bind_host == "127.0.0.1"  # no API_KEY: loopback only
    assert settings.max_timeout_ms == 600_000
    assert settings.max_timeout_s == 600.0
    assert settings.max_request_size == 10 * 1024 * 1024
    assert settings.claude_cwd is None
    assert settings.api_key is None
    assert settings.cors_origins is None
    assert settings.cors_allowed == ()  # no API_KEY: no origin may read
    assert settings.allowed_hosts is None
    assert settings.enable_server_tools is False


def test_with_a_key_the_defaults_open_the_bind_and_cors() -> None:
    settings = load_settings({"API_KEY": "k"})
    assert settings.bind_host == "0.0.0.0"
    assert settings.cors_allowed == ("*",)
    explicit = load_settings({"CLAUDE_WRAPPER_HOST": "10.0.0.2", "CORS_ORIGINS": "https://a"})
    assert explicit.bind_host == "10.0.0.2"
    assert explicit.cors_allowed == ("https://a",)


def test_unrelated_variables_are_ignored() -> None:
    settings = load_settings({"HOME": "/x", "SOMETHING_ELSE": "y"})
    assert msgspec.structs.replace(settings, environ={}) == Settings()


def test_the_environment_is_kept_whole_for_the_components_that_read_it() -> None:
    assert load_settings({"HOME": "/x", "ANTHROPIC_API_KEY": "k"}).environ == {
        "HOME": "/x",
        "ANTHROPIC_API_KEY": "k",
    }


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"PORT": "9001"}, "port", 9001),
        ({"PORT": " 80 "}, "port", 80),
        ({"CLAUDE_WRAPPER_HOST": "127.0.0.1"}, "host", "127.0.0.1"),
        ({"CLAUDE_WRAPPER_HOST": "  "}, "host", None),
        ({"ALLOWED_HOSTS": "a.example, b.example"}, "allowed_hosts", ("a.example", "b.example")),
        ({"MAX_TIMEOUT": "1500"}, "max_timeout_ms", 1500),
        ({"MAX_REQUEST_SIZE": "1024"}, "max_request_size", 1024),
        ({"API_KEY": "  secret  "}, "api_key", "secret"),
        ({"API_KEY": ""}, "api_key", None),
        ({"DEFAULT_MODEL": "claude-opus-4-7"}, "models.default_model", "claude-opus-4-7"),
        ({"CORS_ORIGINS": '["https://a.example", "https://b.example"]'}, "cors_origins",
         ("https://a.example", "https://b.example")),
        ({"CORS_ORIGINS": "https://a.example, https://b.example"}, "cors_origins",
         ("https://a.example", "https://b.example")),
        ({"CORS_ORIGINS": ""}, "cors_origins", ()),
        ({"CLAUDE_MODELS_OVERRIDE": "a, b,,c"}, "models.override", ("a", "b", "c")),
        ({"DATA_DIR": "/var/lib/x"}, "data_dir", "/var/lib/x"),
        ({"LOG_FORMAT": "JSON"}, "log_format", "json"),
        ({"LOG_LEVEL": "warning"}, "log_level", "warning"),
        ({"DEBUG_MODE": "yes"}, "debug_mode", True),
        ({"DEBUG_MODE": "0"}, "debug_mode", False),
        ({"SSE_PING_INTERVAL_SECONDS": "0.5"}, "ping_interval_s", 0.5),
        ({"FIRST_BYTE_DEADLINE_SECONDS": "3"}, "first_byte_deadline_s", 3.0),
        ({"SHUTDOWN_GRACE_SECONDS": "1"}, "shutdown_grace_s", 1.0),
        ({"KEEP_ALIVE_SECONDS": "90"}, "keep_alive_s", 90.0),
        ({"ENABLE_SERVER_TOOLS": "TRUE"}, "enable_server_tools", True),
        ({"LOAD_FILESYSTEM_SETTINGS": "on"}, "load_filesystem_settings", True),
    ],
)  # fmt: skip
def test_values_are_parsed(env: dict[str, str], field: str, value: object) -> None:
    value_of: object = load_settings(env)
    for part in field.split("."):
        value_of = getattr(value_of, part)
    assert value_of == value


def test_claude_cwd_must_exist_and_is_resolved(tmp_path: Path) -> None:
    assert load_settings({"CLAUDE_CWD": str(tmp_path)}).claude_cwd == str(tmp_path.resolve())
    assert load_settings({"CLAUDE_CWD": ""}).claude_cwd is None


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("PORT", "http"),
        ("PORT", "0"),
        ("PORT", "70000"),
        ("MAX_TIMEOUT", "-1"),
        ("MAX_TIMEOUT", "10s"),
        ("MAX_TIMEOUT", "0"),
        ("MAX_REQUEST_SIZE", "1.5"),
        ("CORS_ORIGINS", "[1, 2]"),
        ("CORS_ORIGINS", '["ok", null]'),
        ("CORS_ORIGINS", "[not json"),
        ("CLAUDE_CWD", "/definitely/not/a/directory/here"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "verbose"),
        ("DEBUG_MODE", "maybe"),
        ("SSE_PING_INTERVAL_SECONDS", "0"),
        ("FIRST_BYTE_DEADLINE_SECONDS", "soon"),
        ("SHUTDOWN_GRACE_SECONDS", "-3"),
        ("ENABLE_SERVER_TOOLS", "2"),
        ("LOAD_FILESYSTEM_SETTINGS", "sure"),
    ],
)
def test_a_bad_value_fails_naming_its_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: raw})
    message = str(caught.value)
    assert message.startswith(f"{name}=")
    assert "not valid" in message


def test_documented_variables_cover_settings_and_passthrough() -> None:
    names = documented_variables()
    assert len(names) == len(set(names))
    for expected in ("PORT", "CLAUDE_WRAPPER_HOST", "MAX_TIMEOUT", "API_KEY", "CORS_ORIGINS"):
        assert expected in names
    assert set(PASSTHROUGH_VARIABLES) <= set(names)
    assert "ANTHROPIC_API_KEY" in names


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]  # the assignment the test expects to fail
