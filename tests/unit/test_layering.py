"""The dependency rules of wrapper/, read from every module's imports (docs/architecture.md).

Every package and top-level module of ``wrapper`` has a rule: the parts of the
package it may import besides itself. A module that is not listed fails the
test, so a new package cannot arrive without its rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "wrapper"

LEAVES = ("wrapper.config", "wrapper.errors", "wrapper.events", "wrapper.logging")
# Importable by every layer above the leaves.
BASE = (
    *LEAVES,
    "wrapper.schemas",
    "wrapper.taskgroups",
    "wrapper.models.catalogue",
    "wrapper.agent.catalogue",
)

# What each part of the package may import, besides itself and ``wrapper.__init__``.
RULES: dict[str, tuple[str, ...]] = {
    "wrapper.errors": (),
    "wrapper.config": (),
    "wrapper.events": ("wrapper.errors",),
    "wrapper.logging": (),
    "wrapper.schemas": ("wrapper.errors",),
    "wrapper.taskgroups": ("wrapper.errors",),
    "wrapper.models.catalogue": (),
    "wrapper.agent.catalogue": ("wrapper.errors",),
    "wrapper.agent": (*BASE, "wrapper.sessions"),
    "wrapper.models": (*BASE,),
    "wrapper.http": (*BASE,),
    "wrapper.translate": (*BASE, "wrapper.http.sse", "wrapper.http.responses"),
    "wrapper.upstream": (*BASE,),
    "wrapper.monitoring": (*BASE,),
    "wrapper.sessions": (*BASE,),
    "wrapper.storage": (*BASE, "wrapper.sessions"),
    "wrapper.usage": (*BASE, "wrapper.sessions"),
    "wrapper.openapi": (*BASE, "wrapper.http.routing"),
    "wrapper.backend": (*BASE, "wrapper.upstream", "wrapper.monitoring"),
    "wrapper.policy": (
        *BASE,
        "wrapper.http",
        "wrapper.upstream",
        "wrapper.monitoring",
        "wrapper.sessions",
        "wrapper.usage",
    ),
    "wrapper.api": (
        *BASE,
        "wrapper.agent",
        "wrapper.http",
        "wrapper.translate",
        "wrapper.backend",
        "wrapper.sessions",
        "wrapper.storage",
        "wrapper.models",
        "wrapper.policy",
        "wrapper.upstream",
        "wrapper.monitoring",
        "wrapper.openapi",
        "wrapper.usage",
    ),
    "wrapper.wiring": (
        *BASE,
        "wrapper.agent",
        "wrapper.api.context",
        "wrapper.backend",
        "wrapper.sessions",
        "wrapper.storage",
        "wrapper.models",
        "wrapper.policy",
        "wrapper.upstream",
        "wrapper.monitoring",
        "wrapper.usage",
    ),
    "wrapper.app": (*BASE, "wrapper.http", "wrapper.api", "wrapper.wiring"),
    "wrapper.asgi": ("wrapper.app",),
    "wrapper.cli": ("wrapper.config", "wrapper.logging", "wrapper.upstream.auth"),
}
# The only modules allowed to import the SDK (the second needs its SessionStore types).
SDK_IMPORTERS = ("wrapper.backend", "wrapper.sessions.sdk_types")
FRAMEWORKS = ("starlette", "fastapi")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
    return names


MODULES: dict[str, set[str]] = {
    _module_name(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))
}


def _within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _ours(imports: set[str]) -> set[str]:
    return {name for name in imports if _within(name, "wrapper") and name != "wrapper"}


def _rule_for(module: str) -> str | None:
    """The most specific rule covering ``module``."""
    covering = [name for name in RULES if _within(module, name)]
    return max(covering, key=len) if covering else None


def test_the_package_was_found() -> None:
    assert "wrapper.app" in MODULES
    assert "wrapper.http.pump" in MODULES


def test_every_module_has_a_rule() -> None:
    missing = sorted(m for m in MODULES if m != "wrapper" and _rule_for(m) is None)
    assert not missing


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "wrapper"))
def test_imports_follow_the_rules(module: str) -> None:
    rule = _rule_for(module)
    assert rule is not None
    allowed = (rule, *RULES[rule])
    bad = sorted(name for name in _ours(MODULES[module]) if not _within(name, *allowed))
    assert not bad, f"{module} (rule {rule}) imports {bad}"


def test_no_web_framework() -> None:
    bad = {m for m, imports in MODULES.items() if any(_within(n, *FRAMEWORKS) for n in imports)}
    assert not bad


def test_only_the_backend_imports_the_sdk() -> None:
    bad = {
        module
        for module, imports in MODULES.items()
        if not _within(module, *SDK_IMPORTERS)
        and any(_within(name, "claude_agent_sdk") for name in imports)
    }
    assert not bad


def test_only_asgi_imports_the_app_and_only_the_app_imports_wiring() -> None:
    for module, imports in MODULES.items():
        ours = _ours(imports)
        if module != "wrapper.asgi":
            assert not any(_within(name, "wrapper.app") for name in ours), module
        if not _within(module, "wrapper.app", "wrapper.wiring"):
            assert not any(_within(name, "wrapper.wiring") for name in ours), module
