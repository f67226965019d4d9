"""Tool selection: with more tools than a model should be shown (dozens of MCP tools, say), offer
the ones relevant to the task and keep the rest reachable by name.

kode's own tools are always offered. The others are ranked by how many words of the latest user
message (and the goal, for a sub-agent) appear in their name and description; the best fill the
remaining places. The system prompt lists the rest by name with a line each, and a call to any
registered tool runs whether or not its schema was sent: the tool runner validates the
arguments and explains a mistake, so nothing is out of reach.
"""

from __future__ import annotations

import re
from typing import Any

from kode.tools.base import Tool, ToolRegistry

CORE_TOOLS = frozenset(
    {
        "read_file", "write_file", "edit_file", "list", "glob", "grep", "bash", "todo",
        "symbols", "find_definition", "find_references", "task", "task_result", "apply_changes",
    }
)
_WORD = re.compile(r"[a-z0-9]{3,}")


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower().replace("_", " ")))


def select_tools(registry: ToolRegistry, request_text: str, limit: int) -> tuple[list[dict[str, Any]], list[Tool[Any]]]:
    """(schemas to send, tools left out). Everything is sent when the registry fits the limit."""
    tools = list(registry)
    if limit <= 0 or len(tools) <= limit:
        return registry.schemas(), []
    core = [t for t in tools if t.name in CORE_TOOLS]
    others = [t for t in tools if t.name not in CORE_TOOLS]
    wanted = words(request_text)

    def score(tool: Tool[Any]) -> int:
        return 3 * len(wanted & words(tool.name)) + len(wanted & words(tool.description))

    ranked = sorted(others, key=lambda t: -score(t))  # stable: registry order breaks ties
    room = max(0, limit - len(core))
    offered = core + ranked[:room]
    names = {t.name for t in offered}
    schemas = [schema for schema in registry.schemas() if schema["function"]["name"] in names]
    return schemas, ranked[room:]


def left_out_note(tools: list[Tool[Any]]) -> str:
    if not tools:
        return ""
    lines = [f"- {t.name}: {t.description.splitlines()[0][:100]}" for t in tools]
    return "More tools, not shown in full to save context (call any by name; a wrong argument is explained):\n" + "\n".join(lines)
