"""/agents: the sub-agent types, from the built-ins, the user's folder and the project's."""

from __future__ import annotations

from kode.tui.widgets.help import HelpScreen

from .helpers import app_for, wait_for
from .screen import screen_text

SIZE = (120, 40)


def write_agent(path, text: str) -> None:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def test_agents_lists_user_and_project_types_and_bad_files(make_rig, app_options, workspace, tmp_path, monkeypatch) -> None:
    user_dir = tmp_path / "user-config"
    monkeypatch.setenv("KODE_CONFIG_DIR", str(user_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write_agent(
        user_dir / "agents" / "reviewer.md",
        "---\nname: reviewer\ndescription: Reviews a diff for bugs and style\ntools: [read_file, grep]\n"
        "model: openai/gpt-4o-mini\n---\nYou are a careful code reviewer.\n",
    )
    write_agent(
        workspace / ".kode" / "agents" / "docs.md",
        "---\nname: doc-writer\ndescription: Writes the project's docs\n---\nYou write docs.\n",
    )
    write_agent(workspace / ".kode" / "agents" / "broken.md", "---\nname: Broken One\n---\nx\n")

    app = app_for(make_rig(), app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/agents", "enter")
        await wait_for(pilot, lambda: "Reviews a diff for bugs and style" in screen_text(app))
        text = screen_text(app)
        assert "reviewer" in text and "read_file, grep" in text and "openai/gpt-4o-mini" in text
        assert "doc-writer" in text and "Writes the project's docs" in text and ".kode/agents/docs.md" in text
        assert "explore" in text and "general" in text and "built-in" in text
        assert "1 agent file skipped" in text and "broken.md" in text


async def test_agents_is_in_help_and_the_palette(make_rig, app_options) -> None:
    app = app_for(make_rig(), app_options())
    async with app.run_test(size=SIZE) as pilot:
        assert "/agents" in [command.title for command in app.get_system_commands(app.screen)]
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(w.render()) for w in app.screen.query("#help-body Static"))
        assert "/agents" in text
