"""Every third-party module kode imports is a declared dependency (else a fresh install breaks)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORT_NAMES = {"prompt-toolkit": "prompt_toolkit"}
"""Distributions whose import name differs from the distribution name."""


def test_every_third_party_import_is_declared() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = set()
    for spec in pyproject["project"]["dependencies"]:
        name = re.split(r"[<>=\[;! ]", spec, maxsplit=1)[0].lower()
        declared.add(IMPORT_NAMES.get(name, name.replace("-", "_")))
    imported = set()
    for path in (ROOT / "kode").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "kode"}
    assert third_party - declared == set(), "declare these in pyproject.toml"
