"""todo: the agent's own checklist for multi-step work (session bookkeeping only)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kode.tools.base import Tool, ToolContext, ToolResult

TodoStatus = Literal["pending", "in_progress", "completed"]

_MARKS: dict[str, str] = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]"}


class TodoItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, description="The task, as a short imperative sentence.")
    status: TodoStatus = Field(
        description="pending (not started), in_progress (working on it now; keep one at a time) or completed."
    )


class TodoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    todos: list[TodoItem] = Field(
        description="The complete, updated todo list. It replaces the previous list, so include every item, "
        "not only the changed ones. An empty list clears it."
    )


class Todo(Tool[TodoParams]):
    name = "todo"
    description = (
        "Keep a checklist for multi-step tasks: plan the steps, mark one in_progress while you work on it, and "
        "mark items completed as soon as they are done. Each call replaces the whole list."
    )
    Params = TodoParams
    kind = "other"

    def summary(self, params: TodoParams) -> str:
        done = sum(1 for item in params.todos if item.status == "completed")
        return f"{len(params.todos)} items, {done} completed"

    async def run(self, params: TodoParams, ctx: ToolContext) -> ToolResult:
        ctx.state.todos = [item.model_dump() for item in params.todos]
        return ToolResult(output=render_todos(ctx.state.todos), display={"todos": list(ctx.state.todos)})


def render_todos(todos: list[dict[str, str]]) -> str:
    if not todos:
        return "Todo list cleared."
    done = sum(1 for item in todos if item["status"] == "completed")
    lines = [f"Todo list updated ({done}/{len(todos)} completed):"]
    lines += [f"{_MARKS.get(item['status'], '[ ]')} {item['content']}" for item in todos]
    return "\n".join(lines)
