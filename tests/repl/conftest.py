"""A real session (real tools, local environment, policy) with a scripted model, behind a client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kode.client.inprocess import InProcessClient
from kode.core.permissions import PermissionMode
from kode.core.session import Session
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session


@dataclass
class Wired:
    client: InProcessClient
    session: Session
    model: ScriptedModel
    workspace: Path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "hello.py").write_text("def greet():\n    return 'hello'\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('app')\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "dep.js").write_text("")
    return root


@pytest.fixture
def wire(workspace: Path):
    def make(*steps: Step, mode: PermissionMode = PermissionMode.DEFAULT) -> Wired:
        model = ScriptedModel(*steps)
        session = scripted_session(workspace, model, mode=mode, max_turns=10)
        return Wired(InProcessClient(session), session, model, workspace)

    return make
