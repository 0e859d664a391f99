"""The dependency rules of wrapper/, read from every module's imports (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "wrapper"

LEAVES = ("wrapper.config", "wrapper.errors", "wrapper.events", "wrapper.logging",
          "wrapper.models_catalogue", "wrapper.schemas")  # fmt: skip
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
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


MODULES: dict[str, set[str]] = {
    _module_name(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))
}


def _within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _ours(imports: set[str]) -> set[str]:
    return {name for name in imports if _within(name, "wrapper") and name != "wrapper"}


def test_the_package_was_found() -> None:
    assert "wrapper.app" in MODULES
    assert "wrapper.http.pump" in MODULES


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


def test_leaves_import_only_errors_and_schemas() -> None:
    bad: list[str] = []
    for module, imports in MODULES.items():
        if not _within(module, *LEAVES):
            continue
        for name in sorted(_ours(imports)):
            if not (
                _within(name, "wrapper.errors")
                or (_within(module, "wrapper.schemas") and _within(name, "wrapper.schemas"))
            ):
                bad.append(f"{module} imports {name}")
    assert not bad


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("wrapper.http", ("wrapper.api", "wrapper.app", "wrapper.wiring", "wrapper.backend",
                          "wrapper.translate", "wrapper.sessions")),
        ("wrapper.translate", ("wrapper.api", "wrapper.app", "wrapper.wiring", "wrapper.backend",
                               "wrapper.sessions", "wrapper.http.pump", "wrapper.http.request",
                               "wrapper.http.routing")),
        ("wrapper.backend", ("wrapper.api", "wrapper.app", "wrapper.wiring", "wrapper.http",
                             "wrapper.translate")),
        ("wrapper.api", ("wrapper.app", "wrapper.wiring", "wrapper.asgi")),
    ],
)  # fmt: skip
def test_layers_point_one_way(layer: str, forbidden: tuple[str, ...]) -> None:
    for module, imports in MODULES.items():
        if not _within(module, layer):
            continue
        bad = sorted(name for name in _ours(imports) if _within(name, *forbidden))
        assert not bad, f"{module} imports {bad}"


def test_only_asgi_imports_the_app_and_only_the_app_imports_wiring() -> None:
    for module, imports in MODULES.items():
        ours = _ours(imports)
        if module != "wrapper.asgi":
            assert not any(_within(name, "wrapper.app") for name in ours), module
        if module != "wrapper.app":
            assert not any(_within(name, "wrapper.wiring") for name in ours), module
