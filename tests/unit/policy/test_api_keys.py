"""Client keys: API_KEY, API_KEYS and the keys file, with roles and budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from wrapper.config import ConfigError, KeySettings, load_settings
from wrapper.errors import AuthenticationError, PermissionDeniedError
from wrapper.http.request import ANONYMOUS, Request
from wrapper.policy.api_keys import ApiKeys, Budget, configured_keys


def _request(key: str | None = None, header: str = "authorization") -> Request:
    headers = []
    if key is not None:
        value = f"Bearer {key}" if header == "authorization" else key
        headers.append((header.encode(), value.encode()))
    scope = {"type": "http", "method": "GET", "path": "/v1/usage", "headers": headers}

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    return Request(scope, receive, "req_1")


def test_api_keys_are_name_key_and_role() -> None:
    settings = load_settings({"API_KEYS": "alice:sk-a, ops:sk-o:admin ,bob:sk-b:user"})
    assert settings.keys.api_keys == (
        ("alice", "sk-a", "user"),
        ("ops", "sk-o", "admin"),
        ("bob", "sk-b", "user"),
    )


@pytest.mark.parametrize("raw", ["alice", ":sk", "alice:sk:root"])
def test_a_malformed_api_keys_entry_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="API_KEYS"):
        load_settings({"API_KEYS": raw})


def test_api_key_is_one_admin_key_and_user_keys_get_the_default_budgets() -> None:
    settings = KeySettings(
        api_keys=(("alice", "sk-a", "user"), ("ops", "sk-o", "admin")),
        requests_per_minute=5,
        tokens_per_day=1000,
    )
    keys = {key.name: key for key in configured_keys("sk-legacy", settings)}
    assert keys["admin"].role == "admin"
    assert keys["admin"].budget == Budget()
    assert keys["alice"].budget == Budget(requests_per_minute=5, tokens_per_day=1000)
    assert keys["ops"].budget == Budget()


def test_the_keys_file_adds_keys_with_their_own_budgets(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(
        '[[keys]]\nname = "carol"\nkey = "sk-c"\nusd_per_month = 20.0\n\n'
        '[[keys]]\nname = "root"\nkey = "sk-r"\nrole = "admin"\n',
        encoding="utf-8",
    )
    settings = KeySettings(keys_file=str(path), tokens_per_day=7)
    keys = {key.name: key for key in configured_keys(None, settings)}
    assert keys["carol"].budget == Budget(tokens_per_day=7, usd_per_month=20.0)
    assert keys["root"].role == "admin"


@pytest.mark.parametrize(
    "text",
    ["not toml [", '[[keys]]\nname = "x"\n', '[[keys]]\nname = "x"\nkey = "k"\nrole = "boss"\n'],
)
def test_a_bad_keys_file_stops_startup(tmp_path: Path, text: str) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="API_KEYS_FILE"):
        configured_keys(None, KeySettings(keys_file=str(path)))


def test_duplicate_names_or_secrets_stop_startup() -> None:
    with pytest.raises(ConfigError, match="name"):
        configured_keys(None, KeySettings(api_keys=(("a", "k1", "user"), ("a", "k2", "user"))))
    with pytest.raises(ConfigError, match="key value"):
        configured_keys("k1", KeySettings(api_keys=(("a", "k1", "user"),)))


def test_authenticate_names_the_caller() -> None:
    keys = ApiKeys(configured_keys("sk-o", KeySettings(api_keys=(("alice", "sk-a", "user"),))))
    request = _request("sk-a", header="x-api-key")
    caller = keys.authenticate(request)
    assert caller.name == "alice"
    assert not caller.admin
    assert request.caller == caller
    assert keys.authenticate(_request("sk-o")).admin
    with pytest.raises(AuthenticationError):
        keys.authenticate(_request("sk-x"))
    with pytest.raises(AuthenticationError):
        keys.authenticate(_request())
    with pytest.raises(PermissionDeniedError):
        keys.require_admin(caller, "Clearing the cache")


def test_without_keys_every_caller_is_the_anonymous_admin() -> None:
    keys = ApiKeys(None)
    assert not keys.required
    assert keys.authenticate(_request()) == ANONYMOUS
    assert ANONYMOUS.admin


@pytest.mark.parametrize("name", ["a/b", "has space", "x" * 65, 'q"uote'])
def test_a_key_name_must_be_safe_for_metrics_and_counters(name: str) -> None:
    with pytest.raises(ConfigError, match="names"):
        configured_keys(None, KeySettings(api_keys=((name, "sk-1", "user"),)))
