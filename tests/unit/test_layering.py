"""The architecture's import rules, checked rather than described (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kode"
UI_AND_FRONTENDS = ("textual", "rich", "prompt_toolkit", "typer", "kode.tui", "kode.render", "kode.server", "kode.cli")
LOWER = ("protocol", "core", "llm", "tools", "runtime", "repo", "store", "config", "client", "host")


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


def _hits(found: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(name for name in found if any(name == b or name.startswith(b + ".") for b in banned))


@pytest.mark.parametrize("layer", [layer for layer in LOWER if (PACKAGE / layer).is_dir()])
def test_lower_layers_import_no_ui_or_frontend(layer: str) -> None:
    for path in modules(layer):
        assert not _hits(imports_of(path), UI_AND_FRONTENDS), path


def test_protocol_imports_nothing_else_of_kode() -> None:
    for path in modules("protocol"):
        kode_imports = {name for name in imports_of(path) if name.startswith("kode")}
        assert all(name.startswith("kode.protocol") for name in kode_imports), path


def test_tui_reaches_only_protocol_client_and_config() -> None:
    for path in modules("tui"):
        kode_imports = {name for name in imports_of(path) if name.startswith("kode.")}
        allowed = ("kode.tui", "kode.protocol", "kode.client", "kode.config")
        assert all(name.startswith(allowed) for name in kode_imports), path


def test_litellm_is_never_imported_at_module_level() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert "litellm" not in {n.split(".")[0] for n in imports_of(path, top_level_only=True)}, path


def test_modules_stay_small() -> None:
    big = [f"{p.relative_to(PACKAGE)} ({n})" for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 600]
    assert not big, f"split these by concern: {big}"
