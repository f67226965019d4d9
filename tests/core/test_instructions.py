"""Project instructions (AGENTS.md, KODE.md, CLAUDE.md) reach every model request and follow
edits on disk; files above the workspace count up to the repository root, and the user's own."""

from __future__ import annotations

import os
from pathlib import Path

from kode.core.instructions import ProjectInstructions
from kode.protocol.ops import SubmitMessage
from kode.runtime.local import LocalEnvironment
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session


def system_of(model: ScriptedModel, index: int = -1) -> str:
    return str(model.requests[index].messages[0]["content"])


async def test_files_from_the_repo_root_down_and_the_users_own(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "AGENTS.md").write_text("Root rule: use tabs.\n")
    package = repo / "packages" / "app"
    package.mkdir(parents=True)
    (package / "KODE.md").write_text("Package rule: run `make test`.\n")
    (package / "CLAUDE.md").write_text("Claude rule: be brief.\n")
    (tmp_path / "AGENTS.md").write_text("Outside the repo: never read.\n")
    user = tmp_path / "config" / "AGENTS.md"
    user.parent.mkdir()
    user.write_text("User rule: British spelling.\n")
    instructions = ProjectInstructions(LocalEnvironment(package), user_file=user)
    text = await instructions.text()
    order = [text.index(rule) for rule in ("User rule", "Root rule", "Package rule", "Claude rule")]
    assert order == sorted(order)
    assert "Outside the repo" not in text


async def test_every_request_sees_the_current_file(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "AGENTS.md").write_text("Always answer in French.\n")
    model = ScriptedModel(Step(text="one"), Step(text="two"), Step(text="three"))
    session = scripted_session(ws, model)
    session.agent.instructions = ProjectInstructions(session.agent.env)
    await session.submit(SubmitMessage(text="hi"))
    await session.wait_idle()
    assert "Always answer in French." in system_of(model)

    (ws / "AGENTS.md").write_text("Always answer in Italian.\n")
    os.utime(ws / "AGENTS.md", (1, 1))  # a different stamp even within the same clock tick
    await session.submit(SubmitMessage(text="again"))
    await session.wait_idle()
    assert "Italian" in system_of(model) and "French" not in system_of(model)

    (ws / "AGENTS.md").unlink()
    await session.submit(SubmitMessage(text="and now"))
    await session.wait_idle()
    assert "Project instructions" not in system_of(model)


async def test_no_files_no_section(tmp_path: Path) -> None:
    assert await ProjectInstructions(LocalEnvironment(tmp_path)).text() == ""
