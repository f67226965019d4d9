"""Docs derived from code (CLI help, config reference, protocol schema) are current.

Regenerate with `python scripts/generate_docs.py`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_docs_are_current() -> None:
    spec = importlib.util.spec_from_file_location("generate_docs", ROOT / "scripts" / "generate_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [str(path.relative_to(ROOT)) for path, text in module.generated().items() if not path.exists() or path.read_text() != text]
    assert not stale, f"regenerate with `python scripts/generate_docs.py`: {stale}"
