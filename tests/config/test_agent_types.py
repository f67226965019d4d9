"""Agent types: the built-ins, user and project definition files, and how bad files are reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kode.config.agents import (
    BUILT_IN,
    AgentType,
    AgentTypes,
    FrontMatterError,
    builtin_agent_types,
    find_project_agents_dir,
    load_agent_types,
    parse_agent_file,
    parse_front_matter,
)
from kode.tools.builtin import builtin_tools

REVIEWER = """
    ---
    name: reviewer
    description: Reviews a diff for bugs and style
    tools: read_file, grep, glob        # or a YAML list; omitted = all tools
    model: openai/gpt-4o-mini           # optional
    ---
    You are a careful code reviewer.

    Report every bug you find.
    """


def user_agent(world: Any, file: str, text: str) -> Path:
    return world.write(world.user_dir / "agents" / file, text)


def project_agent(world: Any, file: str, text: str, directory: Path | None = None) -> Path:
    return world.write((directory or world.project) / ".kode" / "agents" / file, text)


def load(world: Any, cwd: Path | None = None) -> AgentTypes:
    return load_agent_types(cwd or world.project, environ=world.environ())


def agent_file(name: str, description: str = "Does things", *, extra: str = "", body: str = "Prompt.") -> str:
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n{body}\n"


# -- built-ins --------------------------------------------------------------------------------


def test_builtin_types_without_any_files(world: Any) -> None:
    types = load(world)
    assert types.names() == ["explore", "general"]
    assert types.problems == []
    explore, general = types["explore"], types["general"]
    assert explore.source == general.source == BUILT_IN and explore.built_in
    assert explore.tools == ("read_file", "grep", "glob", "list")
    assert general.tools is None and general.model is None and explore.model is None
    assert "line numbers" in explore.system_prompt and "never edit" in explore.system_prompt.lower()
    assert "changed" in general.system_prompt
    assert explore.description and general.description


def test_explore_names_only_real_read_only_tools() -> None:
    tools = builtin_tools()
    known = {tool.name for tool in tools}
    read_only = {tool.name for tool in tools if tool.read_only}
    explore, general = builtin_agent_types()["explore"], builtin_agent_types()["general"]
    assert explore.unknown_tools(known) == []
    assert explore.is_read_only(read_only)
    assert not general.is_read_only(read_only)  # every tool, bash and write_file included
    assert general.allows("bash") and not explore.allows("bash") and explore.allows("grep")


def test_agent_type_is_frozen() -> None:
    explore = builtin_agent_types()["explore"]
    with pytest.raises(AttributeError):
        explore.name = "other"  # type: ignore[misc]


# -- files and their order --------------------------------------------------------------------


def test_a_user_file_is_read(world: Any) -> None:
    path = user_agent(world, "reviewer.md", REVIEWER)
    types = load(world)
    reviewer = types["reviewer"]
    assert reviewer == AgentType(
        name="reviewer",
        description="Reviews a diff for bugs and style",
        tools=("read_file", "grep", "glob"),
        model="openai/gpt-4o-mini",
        system_prompt="You are a careful code reviewer.\n\nReport every bug you find.",
        source=str(path),
    )
    assert types.names() == ["explore", "general", "reviewer"] and types.problems == []


def test_project_overrides_user_overrides_builtin(world: Any) -> None:
    user_agent(world, "explore.md", agent_file("explore", "user explore"))
    user_agent(world, "helper.md", agent_file("helper", "user helper"))
    user_agent(world, "mine.md", agent_file("mine", "only the user's"))
    project_file = project_agent(world, "helper.md", agent_file("helper", "project helper"))
    project_agent(world, "general.md", agent_file("general", "project general"))
    types = load(world)
    assert types["explore"].description == "user explore"
    assert types["helper"].description == "project helper" and types["helper"].source == str(project_file)
    assert types["general"].description == "project general" and not types["general"].built_in
    assert types["mine"].description == "only the user's"
    assert types.names() == ["explore", "general", "helper", "mine"]  # overrides keep their place


def test_the_name_comes_from_the_front_matter_not_the_file_name(world: Any) -> None:
    user_agent(world, "whatever.md", agent_file("reviewer"))
    assert "reviewer" in load(world) and "whatever" not in load(world)


def test_project_folder_is_found_from_a_subdirectory(world: Any) -> None:
    project_agent(world, "reviewer.md", REVIEWER)
    nested = world.project / "src" / "pkg"
    nested.mkdir(parents=True)
    assert find_project_agents_dir(nested, world.environ()) == (world.project / ".kode" / "agents").resolve()
    assert "reviewer" in load(world, cwd=nested)


def test_the_home_folder_is_not_a_project(world: Any) -> None:
    world.write(world.home / ".kode" / "agents" / "stray.md", agent_file("stray"))
    assert find_project_agents_dir(world.project, world.environ()) is None
    assert "stray" not in load(world)


def test_only_markdown_files_are_read(world: Any) -> None:
    user_agent(world, "notes.txt", agent_file("notes"))
    user_agent(world, ".hidden.md", agent_file("hidden"))
    (world.user_dir / "agents" / "folder.md").mkdir()
    types = load(world)
    assert types.names() == ["explore", "general"] and types.problems == []


def test_the_same_folder_as_user_and_project_is_read_once(world: Any) -> None:
    project_agent(world, "reviewer.md", REVIEWER)
    environ = world.environ(KODE_CONFIG_DIR=str(world.project / ".kode"))
    types = load_agent_types(world.project, environ=environ)
    assert "reviewer" in types and types.problems == []


# -- the front matter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tools",
    [
        "tools: read_file, grep",
        "tools: read_file,grep",
        "tools: [read_file, grep]",
        "tools: ['read_file', \"grep\"]",
        "tools:\n  - read_file\n  - grep",
        "tools:\n- read_file  # reads\n- grep",
        "tools:  # the reading ones\n  - read_file\n  - grep",
        "tools: read_file, grep, read_file",
    ],
)
def test_both_tools_syntaxes(tools: str) -> None:
    agent = parse_agent_file(agent_file("a", extra=tools + "\n"), "x.md")
    assert agent.tools == ("read_file", "grep")


def test_no_tools_key_means_all_and_an_empty_list_means_none() -> None:
    assert parse_agent_file(agent_file("a"), "x.md").tools is None
    nothing = parse_agent_file(agent_file("a", extra="tools: []\n"), "x.md")
    assert nothing.tools == () and not nothing.allows("read_file")
    assert nothing.is_read_only({"read_file"})  # no tools cannot write


def test_values_may_be_quoted_wrapped_or_contain_colons() -> None:
    text = (
        "---\n"
        'name: "reviewer"\n'
        "description: Use when: the diff is big  # a comment\n"
        "model: 'openai/gpt-4o-mini'\n"
        "---\n"
        "Body\n"
    )
    agent = parse_agent_file(text, "x.md")
    assert (agent.name, agent.description, agent.model) == ("reviewer", "Use when: the diff is big", "openai/gpt-4o-mini")
    folded = parse_front_matter("---\ndescription: >\n  one\n  two\n\n  three\nother: a\n  b\n---\n")[0]
    assert folded == {"description": "one two\nthree", "other": "a b"}
    literal = parse_front_matter("---\nd: |\n  one\n    two\n---\n")[0]
    assert literal == {"d": "one\n  two"}


def test_model_inherit_means_the_sessions_model() -> None:
    assert parse_agent_file(agent_file("a", extra="model: inherit\n"), "x.md").model is None


def test_the_body_is_the_system_prompt_without_surrounding_blank_lines() -> None:
    agent = parse_agent_file("\ufeff---\nname: a\ndescription: d\n---\n\n  Line one.\nLine two.\n\n", "x.md")
    assert agent.system_prompt == "Line one.\nLine two."


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("name: a\n", 1, "no front matter"),
        ("---\nname: a\n", 1, "not closed"),
        ("---\nname a\n---\n", 2, "expected 'key: value'"),
        ("---\nname: a\nname: b\n---\n", 3, "given twice"),
        ("---\n  name: a\n---\n", 2, "unexpected indented line"),
        ("---\ntools: [a, b\n---\n", 2, "not closed with ']'"),
        ("---\nd: \"open\n---\n", 2, "unclosed"),
        ("---\nd: {a: 1}\n---\n", 2, "not supported"),
        ("---\ntools:\n  - a\n  b\n---\n", 2, "'- item'"),
    ],
)
def test_bad_front_matter_says_where(text: str, line: int, reason: str) -> None:
    with pytest.raises(FrontMatterError) as caught:
        parse_front_matter(text)
    assert caught.value.line == line and reason in caught.value.reason


# -- bad files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ndescription: d\n---\nPrompt\n", "missing name"),
        ("---\nname: a\n---\nPrompt\n", "missing description"),
        ("---\nname: a\ndescription: d\ncolor: blue\n---\nPrompt\n", "unknown key 'color'"),
        ("---\nname: a\ndescription: d\n---\n\n", "no system prompt"),
        ("---\nname: [a, b]\ndescription: d\n---\nPrompt\n", "name must be text"),
        ("---\nname: a\ndescription: d\ntools:\n---\nPrompt\n", "tools is empty"),
        ("---\nname: a\ndescription: d\ntools: read_file grep\n---\nPrompt\n", "bad tool name 'read_file grep'"),
        ("---\nname: a\ndescription: d\ntools: read_file,,grep\n---\nPrompt\n", "empty name"),
        ("You are an agent without front matter.\n", "1: bad front matter: no front matter"),
        ("---\nname: a\ndescription d\n---\nPrompt\n", "3: bad front matter: expected 'key: value'"),
    ],
)
def test_bad_files_are_reported_not_raised(world: Any, text: str, problem: str) -> None:
    user_agent(world, "good.md", REVIEWER)
    bad = user_agent(world, "bad.md", text)
    types = load(world)
    assert "reviewer" in types and "a" not in types  # the good file still loads
    assert len(types.problems) == 1, types.problems
    assert types.problems[0].startswith(str(bad) + ":") and problem in types.problems[0]
    assert "\n" not in types.problems[0]


@pytest.mark.parametrize("name", ["Reviewer", "my agent", "1st", "-x", "_x", "né", "a.b", "a/b"])
def test_bad_names_are_rejected(world: Any, name: str) -> None:
    user_agent(world, "bad.md", agent_file(name))
    types = load(world)
    assert types.names() == ["explore", "general"]
    assert len(types.problems) == 1 and "bad name" in types.problems[0]


@pytest.mark.parametrize("name", ["a", "code-reviewer", "test_writer", "x2", "a-1_b"])
def test_good_names(name: str) -> None:
    assert parse_agent_file(agent_file(name), "x.md").name == name


def test_two_files_with_one_name_in_a_folder_keep_the_first(world: Any) -> None:
    first = project_agent(world, "a.md", agent_file("helper", "first"))
    second = project_agent(world, "b.md", agent_file("helper", "second"))
    types = load(world)
    assert types["helper"].description == "first"
    assert types.problems == [f"{second}: the name 'helper' is taken by {first}; skipped"]


def test_a_bad_project_file_does_not_hide_the_user_one(world: Any) -> None:
    user_agent(world, "helper.md", agent_file("helper", "user helper"))
    project_agent(world, "helper.md", "---\nname: helper\n---\nno description\n")
    types = load(world)
    assert types["helper"].description == "user helper" and len(types.problems) == 1


def test_unreadable_and_odd_files_are_reported(world: Any) -> None:
    binary = world.user_dir / "agents" / "binary.md"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"---\nname: \xff\xfe\n---\n")
    huge = user_agent(world, "huge.md", agent_file("huge", body="x" * 300_000))
    types = load(world)
    assert types.names() == ["explore", "general"]
    assert types.problems == [f"{binary}: not UTF-8 text; skipped", f"{huge}: larger than 256 KiB; skipped"]


def test_a_user_agents_path_that_is_a_file_is_reported(world: Any) -> None:
    world.write(world.user_dir / "agents", "not a folder")
    types = load(world)
    assert types.names() == ["explore", "general"]
    assert len(types.problems) == 1 and types.problems[0].startswith(str(world.user_dir / "agents"))
