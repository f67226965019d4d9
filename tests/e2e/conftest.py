"""The real `kode` binary against the fake provider, isolated from the user's files and keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kode.testing.fake_provider import FakeProvider

MODEL = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def provider():
    """One fake provider per module; unscripted requests get their prompt echoed back."""
    with FakeProvider(echo=True) as fp:
        yield fp


@pytest.fixture
def env(tmp_path: Path, provider) -> dict[str, str]:
    """An environment with its own home, config and data dirs, and no real provider keys."""
    provider.clear()
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("KODE_")}
    clean.update(
        HOME=str(home),
        KODE_CONFIG_DIR=str(home / "config"),
        KODE_DATA_DIR=str(home / "data"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        KODE_MODEL=MODEL,
        KODE_API_BASE=provider.openai_base,
        OPENAI_API_KEY="sk-test",
    )
    return clean
