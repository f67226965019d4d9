"""A real `kode serve` in-process (kode.testing.live_server): uvicorn on an ephemeral loopback
port, in its own thread, with sessions on the real litellm client against the fake provider."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kode.testing.fake_provider import FakeProvider
from kode.testing.live_server import MODEL, LiveServer, start_server

__all__ = ["MODEL", "LiveServer", "start_server"]


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    """One fake provider per module; unscripted requests get their prompt echoed back."""
    with FakeProvider(echo=True) as fp:
        yield fp


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own home, config and data dirs (the store's SQLite file lands there); returns a workspace."""
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith("KODE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KODE_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("KODE_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    return workspace


@pytest.fixture
def live_server(isolated: Path, provider: FakeProvider) -> Iterator[LiveServer]:
    """A running server on a fresh store, its workspace, and a clean fake provider."""
    provider.clear()
    server = start_server(isolated, provider)
    try:
        yield server
    finally:
        server.stop()
