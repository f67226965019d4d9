"""Fixtures for TUI tests: a real Session (real tools, local environment, permission policy)
driven by a scripted model, behind an InProcessClient; and an app factory with no files of the
user's touched (history, theme choice and themes all point into tmp dirs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kode.client.inprocess import InProcessClient
from kode.core.permissions import PermissionMode
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session
from kode.tui import AppOptions
from kode.tui.themes import shipped_theme_dirs

from .helpers import Rig


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "hello.py").write_text("def greet():\n    return 'hello'\n")
    (root / "src").mkdir()
    (root / "src" / "app_main.py").write_text("print('app')\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/feature/tui\n")
    return root


@pytest.fixture
def make_rig(workspace: Path) -> Callable[..., Rig]:
    def make(*steps: Step, mode: PermissionMode = PermissionMode.DEFAULT, default=None) -> Rig:  # type: ignore[no-untyped-def]
        model = ScriptedModel(*steps, default=default)
        session = scripted_session(workspace, model, mode=mode)
        session.start()
        return Rig(session, model, InProcessClient(session), workspace)

    return make


@pytest.fixture
def app_options(tmp_path: Path, workspace: Path) -> Callable[..., AppOptions]:
    def make(**kwargs: object) -> AppOptions:
        defaults: dict[str, object] = {
            "cwd": workspace,
            "model": "scripted/test",
            "history_path": tmp_path / "data" / "history.jsonl",
            "prefs_path": tmp_path / "config" / "tui-state.json",
            "theme_dirs": [*shipped_theme_dirs(), tmp_path / "config" / "themes"],
            "animations": False,
            "clock": lambda: 1000.0,
        }
        defaults.update(kwargs)
        return AppOptions(**defaults)  # type: ignore[arg-type]

    return make
