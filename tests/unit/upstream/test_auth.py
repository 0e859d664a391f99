"""Upstream auth: the method, its detection order, and the env each CLI process gets."""

from __future__ import annotations

import pytest

from wrapper.backend.options import CliRuntime
from wrapper.config import ConfigError, load_settings
from wrapper.upstream.auth import detect_upstream_auth


@pytest.mark.parametrize(
    ("raw", "method"),
    [
        ("cli", "cli"),
        ("claude_cli", "cli"),
        ("api_key", "api_key"),
        ("anthropic", "api_key"),
        ("BEDROCK", "bedrock"),
        ("vertex", "vertex"),
        ("", None),
    ],
)
def test_claude_auth_method_and_its_old_names(raw: str, method: str | None) -> None:
    assert load_settings({"CLAUDE_AUTH_METHOD": raw}).upstream.auth_method == method


def test_an_unknown_method_fails_at_startup() -> None:
    with pytest.raises(ConfigError, match="CLAUDE_AUTH_METHOD"):
        load_settings({"CLAUDE_AUTH_METHOD": "oauth"})


@pytest.mark.parametrize(
    ("env", "method"),
    [
        (
            {
                "CLAUDE_CODE_USE_BEDROCK": "1",
                "CLAUDE_CODE_USE_VERTEX": "1",
                "ANTHROPIC_API_KEY": "k",
            },
            "bedrock",
        ),
        ({"CLAUDE_CODE_USE_VERTEX": "true", "ANTHROPIC_API_KEY": "k"}, "vertex"),
        ({"CLAUDE_CODE_USE_BEDROCK": "0", "ANTHROPIC_API_KEY": "k"}, "api_key"),
        ({"ANTHROPIC_API_KEY": "  "}, "cli"),
        ({}, "cli"),
    ],
)
def test_detection_order(env: dict[str, str], method: str) -> None:
    auth = detect_upstream_auth(None, env)
    assert auth.method == method
    assert auth.source == "auto"


def test_api_key_method_pins_the_key_and_blanks_the_other_methods() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-1", "CLAUDE_CODE_OAUTH_TOKEN": "tok", "HOME": "/h"}
    auth = detect_upstream_auth("api_key", env)
    assert auth.source == "CLAUDE_AUTH_METHOD"
    assert auth.cli_env == {
        "ANTHROPIC_API_KEY": "sk-ant-1",
        "CLAUDE_CODE_USE_BEDROCK": "",
        "CLAUDE_CODE_USE_VERTEX": "",
        "CLAUDE_CODE_OAUTH_TOKEN": "",
    }
    assert auth.configured
    assert auth.login_config_dir is None
    assert auth.variables == ("ANTHROPIC_API_KEY",)


def test_an_explicit_method_without_its_variables_is_reported() -> None:
    assert detect_upstream_auth("api_key", {}).problems == ("ANTHROPIC_API_KEY is not set.",)
    bedrock = detect_upstream_auth("bedrock", {"AWS_ACCESS_KEY_ID": "a"})
    assert not bedrock.configured
    assert bedrock.cli_env["CLAUDE_CODE_USE_BEDROCK"] == "1"
    assert bedrock.variables == ("AWS_ACCESS_KEY_ID",)
    assert detect_upstream_auth("bedrock", {"AWS_DEFAULT_REGION": "eu-west-1"}).configured
    vertex = detect_upstream_auth("vertex", {"CLOUD_ML_REGION": "us-east5"})
    assert vertex.problems == ("ANTHROPIC_VERTEX_PROJECT_ID is not set.",)
    assert vertex.cli_env["CLAUDE_CODE_USE_VERTEX"] == "1"
    assert vertex.cli_env["CLAUDE_CODE_USE_BEDROCK"] == ""


def test_cli_method_hides_a_stray_api_key_and_finds_the_login() -> None:
    auth = detect_upstream_auth("cli", {"ANTHROPIC_API_KEY": "sk-stray", "HOME": "/home/u"})
    assert auth.cli_env["ANTHROPIC_API_KEY"] == ""
    assert auth.login_config_dir == "/home/u/.claude"
    custom = detect_upstream_auth("cli", {"CLAUDE_CONFIG_DIR": "/etc/claude", "HOME": "/h"})
    assert custom.login_config_dir == "/etc/claude"
    # A `claude setup-token` token works from any config dir (it is inherited as is).
    token = detect_upstream_auth("cli", {"CLAUDE_CODE_OAUTH_TOKEN": "tok", "HOME": "/h"})
    assert token.login_config_dir is None
    assert "CLAUDE_CODE_OAUTH_TOKEN" not in token.cli_env
    assert token.variables == ("CLAUDE_CODE_OAUTH_TOKEN",)


@pytest.mark.parametrize("method", ["cli", "api_key", "bedrock", "vertex"])
def test_the_client_api_key_never_reaches_the_cli(method: str) -> None:
    env = {"API_KEY": "client-secret", "ANTHROPIC_API_KEY": "sk-ant", "HOME": "/h"}
    auth = detect_upstream_auth(method, env)
    runtime = CliRuntime(config_dir="/tmp/c", cwd="/tmp/w", auth_env=auth.cli_env)
    cli_env = runtime.env()
    # The SDK merges these over the inherited environment: API_KEY is blanked.
    assert cli_env["API_KEY"] == ""
    merged = {**env, **cli_env}
    assert "client-secret" not in merged.values()
