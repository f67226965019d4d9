"""The built-in set as the model sees it: names, kinds, schemas; and the todo tool."""

from __future__ import annotations

import jsonschema
import pytest

from kode.tools.base import ToolContext, ToolRegistry
from kode.tools.builtin import builtin_tools

from .helpers import Call

EXPECTED_KINDS = {
    "read_file": "read",
    "write_file": "edit",
    "edit_file": "edit",
    "list": "read",
    "glob": "read",
    "grep": "read",
    "bash": "bash",
    "todo": "other",
    "symbols": "read",
    "find_definition": "read",
    "find_references": "read",
}


def test_names_and_kinds() -> None:
    assert {tool.name: tool.kind for tool in builtin_tools()} == EXPECTED_KINDS


@pytest.mark.parametrize("tool", builtin_tools(), ids=lambda t: t.name)
def test_schema_is_valid_and_documented(tool) -> None:  # type: ignore[no-untyped-def]
    schema = tool.schema()
    assert schema["type"] == "function" and schema["function"]["name"] == tool.name
    assert len(schema["function"]["description"]) > 40
    parameters = schema["function"]["parameters"]
    jsonschema.Draft202012Validator.check_schema(parameters)
    assert parameters["type"] == "object" and parameters.get("additionalProperties") is False

    def described(props: dict) -> None:  # type: ignore[type-arg]
        for name, prop in props.items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"

    described(parameters["properties"])
    for definition in parameters.get("$defs", {}).values():
        described(definition["properties"])


def test_permission_targets(registry: ToolRegistry) -> None:
    targets = {
        "read_file": {"path": "./src/../src/a.py"},
        "write_file": {"path": "src/a.py", "content": ""},
        "edit_file": {"path": "src/a.py", "edits": [{"old_text": "a", "new_text": "b"}]},
        "list": {"path": "src/"},
        "glob": {"pattern": "*.py", "path": "src"},
        "grep": {"pattern": "x", "path": "src"},
    }
    for name, arguments in targets.items():
        tool, params = registry.parse(name, arguments)
        expected = "src/a.py" if "a.py" in str(arguments) else "src"
        assert tool.permission_target(params) == expected
        assert tool.summary(params)
    tool, params = registry.parse("bash", {"command": "rm -rf build"})
    assert tool.permission_target(params) == "rm -rf build"


async def test_todo_replaces_the_list_and_renders_it(call: Call, ctx: ToolContext) -> None:
    result = await call(
        "todo",
        todos=[
            {"content": "Read the code", "status": "completed"},
            {"content": "Write the fix", "status": "in_progress"},
            {"content": "Run the tests", "status": "pending"},
        ],
    )
    assert result.output == (
        "Todo list updated (1/3 completed):\n[x] Read the code\n[~] Write the fix\n[ ] Run the tests"
    )
    assert [item["status"] for item in ctx.state.todos] == ["completed", "in_progress", "pending"]
    await call("todo", todos=[{"content": "Only one", "status": "pending"}])
    assert ctx.state.todos == [{"content": "Only one", "status": "pending"}]
    assert (await call("todo", todos=[])).output == "Todo list cleared."


def test_todo_rejects_unknown_status(registry: ToolRegistry) -> None:
    from kode.tools.base import InvalidArguments

    with pytest.raises(InvalidArguments, match="status"):
        registry.parse("todo", {"todos": [{"content": "x", "status": "done"}]})
