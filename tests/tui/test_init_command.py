"""/init: the agent is asked to write a starter AGENTS.md, and does (with the user's approval)."""

from __future__ import annotations

from kode.core.permissions import PermissionMode
from kode.testing.scripted_model import Step

from .helpers import SIZE, app_for, wait_for
from .screen import screen_text


async def test_init_asks_the_agent_for_an_agents_md(make_rig, app_options) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig(
        Step(text="Writing it.", tool_calls=[("write_file", {"path": "AGENTS.md", "content": "# Project\nRun `pytest`.\n"})]),
        Step(text="AGENTS.md is written."),
        mode=PermissionMode.ACCEPT_EDITS,
    )
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/init", "enter")
        await wait_for(pilot, lambda: "AGENTS.md is written." in screen_text(app), timeout=10)
    prompt = rig.model.requests[0].messages[-1]["content"]
    assert prompt.startswith("Write a starter AGENTS.md")
    assert (rig.workspace / "AGENTS.md").read_text().startswith("# Project")
