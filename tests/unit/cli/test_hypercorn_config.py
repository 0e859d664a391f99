"""What ``claude-wrapper`` tells hypercorn, from the settings."""

from __future__ import annotations

import argparse

from wrapper.cli import _hypercorn_config
from wrapper.config import load_settings


def _args() -> argparse.Namespace:
    return argparse.Namespace(worker_class="asyncio", certfile=None, keyfile=None)


def test_idle_connections_outlive_the_clients_own_idle_expiry_by_default() -> None:
    config = _hypercorn_config(_args(), load_settings({}), host="127.0.0.1", port=8000)
    # hypercorn's own default (5 s) equals httpx's keep-alive expiry: the two race.
    assert config.keep_alive_timeout == 75.0
    assert config.graceful_timeout == 30.0
    assert config.bind == ["127.0.0.1:8000"]


def test_the_keep_alive_and_the_grace_period_follow_the_environment() -> None:
    settings = load_settings({"KEEP_ALIVE_SECONDS": "120", "SHUTDOWN_GRACE_SECONDS": "5"})
    config = _hypercorn_config(_args(), settings, host="::1", port=9000)
    assert (config.keep_alive_timeout, config.graceful_timeout) == (120.0, 5.0)
    assert config.bind == ["[::1]:9000"]
