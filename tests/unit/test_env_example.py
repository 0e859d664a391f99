""".env.example and docs/configuration.md document exactly the variables the server reads."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from wrapper.config import PASSTHROUGH_VARIABLES, ConfigError, documented_variables, load_settings

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
CONFIGURATION = ROOT / "docs" / "configuration.md"

# `# NAME=value` (a commented default) or `NAME=value`, at the start of a line.
_ASSIGNMENT = re.compile(r"^(?P<commented>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def _assignments() -> list[tuple[str, str, bool]]:
    found: list[tuple[str, str, bool]] = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _ASSIGNMENT.match(line)
        if match:
            found.append((match["name"], match["value"], match["commented"] is not None))
    return found


def test_every_variable_the_server_reads_is_in_env_example() -> None:
    listed = {name for name, _, _ in _assignments()}
    missing = [name for name in documented_variables() if name not in listed]
    assert not missing, f"add these to .env.example (under their section): {missing}"


def test_env_example_lists_only_variables_the_server_reads() -> None:
    known = set(documented_variables())
    unknown = sorted({name for name, _, _ in _assignments()} - known)
    assert not unknown, f"not read by wrapper.config: {unknown}"


def test_each_variable_is_listed_once() -> None:
    counts = Counter(name for name, _, _ in _assignments())
    assert [name for name, count in counts.items() if count > 1] == []


def test_every_line_is_a_commented_default() -> None:
    # Copying the file to .env must change nothing until a line is uncommented.
    assert [name for name, _, commented in _assignments() if not commented] == []


def test_the_listed_defaults_are_valid_values() -> None:
    passthrough = set(PASSTHROUGH_VARIABLES)
    for name, value, _ in _assignments():
        if name in passthrough or not value:
            continue
        try:
            load_settings({name: value})
        except ConfigError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f".env.example shows an invalid value: {exc}")


def test_configuration_doc_mentions_every_variable() -> None:
    text = CONFIGURATION.read_text(encoding="utf-8")
    missing = [name for name in documented_variables() if f"`{name}`" not in text]
    assert not missing, f"document these in docs/configuration.md: {missing}"
