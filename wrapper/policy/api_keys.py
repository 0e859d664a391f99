"""Who may call the ``/v1`` routes: the client keys (``API_KEY``, ``API_KEYS``, a keys file).

A key is presented as ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (the
OpenAI and the Anthropic clients' own ways) and compared in constant time with
every configured key. Each key has a name, a role (``admin`` or ``user``) and an
optional budget; ``API_KEY`` is one admin key named ``admin``. Without any key
every route is open (the app warns at startup) and every caller is an admin.
"""

from __future__ import annotations

import hmac
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from wrapper.config import ConfigError, KeySettings
from wrapper.errors import AuthenticationError, PermissionDeniedError
from wrapper.http.request import ANONYMOUS, Caller, Request

_CHALLENGE = ("www-authenticate", 'Bearer realm="claude-wrapper"')
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")

Role = Literal["admin", "user"]


class Budget(msgspec.Struct, frozen=True, kw_only=True):
    """What a key may spend (0: no limit)."""

    requests_per_minute: int = 0
    tokens_per_day: int = 0
    usd_per_month: float = 0.0

    @property
    def limited(self) -> bool:
        return bool(self.requests_per_minute or self.tokens_per_day or self.usd_per_month)


class ClientKey(msgspec.Struct, frozen=True, kw_only=True):
    """One configured client key."""

    name: str
    key: str
    role: Role = "user"
    budget: Budget = Budget()
    # API_KEY's key: its sessions keep the ids clients gave them (no namespace).
    unscoped: bool = False

    @property
    def caller(self) -> Caller:
        return Caller(self.name, admin=self.role == "admin", scoped=not self.unscoped)


class _FileKey(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    key: str
    role: Role = "user"
    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    usd_per_month: float | None = None


class _KeysFile(msgspec.Struct, forbid_unknown_fields=True):
    keys: list[_FileKey] = []


def presented_key(request: Request) -> str | None:
    """The key the request presents, if any (``x-api-key`` first, then a bearer token)."""
    presented = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    if presented is None and authorization[:7].lower() == "bearer ":
        presented = authorization[7:].strip()
    return presented


def _default_budget(settings: KeySettings) -> Budget:
    return Budget(
        requests_per_minute=settings.requests_per_minute,
        tokens_per_day=settings.tokens_per_day,
        usd_per_month=settings.usd_per_month,
    )


def read_keys_file(path: Path, default: Budget) -> list[ClientKey]:
    """The keys of a TOML keys file (``[[keys]]`` tables).

    Raises:
        ConfigError: the file cannot be read or holds something other than keys.
    """
    try:
        raw: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        parsed = msgspec.convert(raw, _KeysFile)
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"API_KEYS_FILE={str(path)!r} is not valid: {exc}") from None
    keys: list[ClientKey] = []
    for entry in parsed.keys:
        budget = Budget(
            requests_per_minute=_or(entry.requests_per_minute, default.requests_per_minute),
            tokens_per_day=_or(entry.tokens_per_day, default.tokens_per_day),
            usd_per_month=_or(entry.usd_per_month, default.usd_per_month),
        )
        keys.append(ClientKey(name=entry.name, key=entry.key, role=entry.role, budget=budget))
    return keys


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def configured_keys(api_key: str | None, settings: KeySettings) -> list[ClientKey]:
    """Every client key the settings name: ``API_KEY``, ``API_KEYS`` and the keys file.

    User keys without a budget of their own get the ``KEY_*`` defaults; admin keys
    from the environment have none.

    Raises:
        ConfigError: the keys file is invalid, or two keys share a name or a secret.
    """
    default = _default_budget(settings)
    keys: list[ClientKey] = []
    if api_key:
        keys.append(ClientKey(name="admin", key=api_key, role="admin", unscoped=True))
    for name, key, role in settings.api_keys:
        admin = role == "admin"
        keys.append(
            ClientKey(
                name=name,
                key=key,
                role="admin" if admin else "user",
                budget=Budget() if admin else default,
            )
        )
    if settings.keys_file:
        keys += read_keys_file(Path(settings.keys_file).expanduser(), default)
    names = [key.name for key in keys]
    bad = [name for name in names if not _NAME.fullmatch(name)]
    if bad:
        raise ConfigError(
            f"Client key names are 1 to 64 of A-Z a-z 0-9 . _ - (they name metrics and "
            f"stored counters): {bad}"
        )
    secrets = [key.key for key in keys]
    if len(set(names)) != len(names):
        raise ConfigError(f"Two client keys share a name: {sorted(names)}")
    if len(set(secrets)) != len(secrets):
        raise ConfigError("Two client keys share the same key value.")
    if any(not key.key.strip() for key in keys):
        raise ConfigError("A client key is empty.")
    return keys


class ApiKeys:
    """Checks a request's key against the configured ones and names its caller."""

    def __init__(self, keys: Sequence[ClientKey] | str | None) -> None:
        if isinstance(keys, str):
            keys = [ClientKey(name="admin", key=keys, role="admin", unscoped=True)]
        self.keys: tuple[ClientKey, ...] = tuple(keys or ())
        self._encoded = [(key.key.encode("utf-8"), key) for key in self.keys]
        self._by_name = {key.name: key for key in self.keys}

    @property
    def required(self) -> bool:
        return bool(self.keys)

    def named(self, name: str) -> ClientKey | None:
        return self._by_name.get(name)

    def authenticate(self, request: Request) -> Caller:
        """Name the caller of a request that presents a key (anyone when none is configured).

        Every configured key is compared, so the time taken does not depend on
        which one matched. Sets and returns ``request.caller``.

        Raises:
            AuthenticationError: the key is missing or wrong (401, with a challenge).
        """
        if not self._encoded:
            request.caller = ANONYMOUS
            return ANONYMOUS
        presented = presented_key(request)
        found: ClientKey | None = None
        if presented is not None:
            given = presented.encode("utf-8")
            for expected, key in self._encoded:
                if hmac.compare_digest(given, expected) and found is None:
                    found = key
        if found is None:
            raise AuthenticationError(
                "Missing or invalid API key: send Authorization: Bearer <API_KEY> or x-api-key.",
                headers=[_CHALLENGE],
            )
        request.caller = found.caller
        return request.caller

    def require_admin(self, caller: Caller, what: str) -> None:
        """Refuse a user key an admin-only operation.

        Raises:
            PermissionDeniedError: ``caller`` is not an admin (403).
        """
        if not caller.admin:
            raise PermissionDeniedError(f"{what} needs an admin key; this key is a user key.")
