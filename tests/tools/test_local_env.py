"""LocalEnvironment against a real tmp workspace: the Environment contract (confinement, atomic
writes, walking, processes; kode/testing/environment_contract.py), then what is local's own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kode.runtime.local import LocalEnvironment
from kode.testing.environment_contract import EnvironmentContract


class TestLocalEnvironment(EnvironmentContract):
    pass


def test_which_falls_back_to_interpreter_dir(env: LocalEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    # PATH is process configuration, not an internal: without it, rg is still found beside python.
    monkeypatch.setenv("PATH", "/nonexistent")
    assert env.which("rg") == str(Path(sys.executable).parent / "rg")
