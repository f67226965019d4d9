"""Every third-party module kode imports is a declared dependency (else a fresh install breaks)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORT_NAMES = {"prompt-toolkit": "prompt_toolkit", "agent-client-protocol": "acp"}
"""Distributions whose import name differs from the distribution name."""


def _import_names(specs: list[str]) -> set[str]:
    names = set()
    for spec in specs:
        name = re.split(r"[<>=\[;! ]", spec, maxsplit=1)[0].lower()
        names.add(IMPORT_NAMES.get(name, name.replace("-", "_")))
    return names


def _third_party_imports(paths: list[Path]) -> set[str]:
    imported = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    return {name for name in imported if name not in sys.stdlib_module_names and name != "kode"}


def test_every_third_party_import_is_declared() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = _import_names(pyproject["project"]["dependencies"])
    testing = ROOT / "kode" / "testing"
    runtime = [p for p in (ROOT / "kode").rglob("*.py") if testing not in p.parents]
    assert _third_party_imports(runtime) - declared == set(), "declare these in pyproject.toml"
    # kode.testing's contracts run under pytest (imported lazily): the test extra may serve them.
    with_tests = declared | _import_names(pyproject["project"]["optional-dependencies"]["test"])
    assert _third_party_imports(list(testing.rglob("*.py"))) - with_tests == set()
