"""The sub-agent tools: `task` (delegate a goal to a child agent), `task_result` (collect
children started without waiting) and `apply_changes` (bring a writer child's diff into the
workspace, through the normal permission flow).

They only talk to `ctx.delegate`; how children run (their context, tools, worktrees, limits) is
the core's business (kode.core.subagents).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kode.tools.base import Tool, ToolContext, ToolError, ToolResult

DELEGATION_TOOL_NAMES = frozenset({"task", "task_result", "apply_changes"})
NO_DELEGATE = "Sub-agents are not available here (the depth limit is reached, or this session has none)."


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal: str = Field(
        min_length=1,
        description="What the child should achieve and report back, self-contained: it sees only a summary "
        "of this conversation plus the files you name.",
    )
    agent_type: str = Field(
        "explore",
        description="explore: read-only search (the default); general: all tools, working in its own git "
        "worktree, its changes come back as a diff for apply_changes; or a user-defined type.",
    )
    files: list[str] = Field(default_factory=list, description="Workspace files the child should be given.")
    wait: bool = Field(
        True,
        description="Wait for the result (default). False returns the child's id at once; collect it later in "
        "this turn with task_result. Several task calls in one message run in parallel.",
    )


class Task(Tool[TaskParams]):
    name = "task"
    description = (
        "Delegate a self-contained goal to a sub-agent that runs concurrently and reports back. Use it for broad "
        "searches (agent_type explore) and for independent pieces of work (general). Start several in one message "
        "to run them in parallel."
    )
    Params = TaskParams
    kind = "read"  # it never changes the workspace: a writer child works in its own worktree

    def summary(self, params: TaskParams) -> str:
        return f"{params.agent_type}: {params.goal}"

    async def run(self, params: TaskParams, ctx: ToolContext) -> ToolResult:
        if ctx.delegate is None:
            return ToolResult.error(NO_DELEGATE)
        try:
            child_id = await ctx.delegate.start(params.goal, params.agent_type, params.files)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        if not params.wait:
            return ToolResult(f"Started {child_id}. Collect its result with task_result.", display={"child_id": child_id})
        return ToolResult(await ctx.delegate.wait([child_id], None), display={"child_id": child_id})


class TaskResultParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, description="Ids of children started with wait=false.")
    timeout: float | None = Field(None, gt=0, description="Seconds to wait at most (default: until all finish).")


class TaskResult(Tool[TaskResultParams]):
    name = "task_result"
    description = "Wait for sub-agents started with task(wait=false) and get their results."
    Params = TaskResultParams
    kind = "read"

    def summary(self, params: TaskResultParams) -> str:
        return ", ".join(params.ids)

    async def run(self, params: TaskResultParams, ctx: ToolContext) -> ToolResult:
        if ctx.delegate is None:
            return ToolResult.error(NO_DELEGATE)
        try:
            return ToolResult(await ctx.delegate.wait(params.ids, params.timeout))
        except ValueError as exc:
            raise ToolError(str(exc)) from None


class ApplyChangesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="The id of a finished general sub-agent whose changes to apply.")


class ApplyChanges(Tool[ApplyChangesParams]):
    name = "apply_changes"
    description = (
        "Apply a finished sub-agent's changes (its diff) to the workspace. Conflicts with the workspace are "
        "reported and nothing is applied."
    )
    Params = ApplyChangesParams
    kind = "edit"

    def permission_target(self, params: ApplyChangesParams) -> str:
        return "."

    def summary(self, params: ApplyChangesParams) -> str:
        return f"changes of {params.id}"

    async def preview(self, params: ApplyChangesParams, ctx: ToolContext) -> str:
        if ctx.delegate is None:
            return ""
        try:
            return await ctx.delegate.changes(params.id)
        except ValueError:
            return ""

    async def run(self, params: ApplyChangesParams, ctx: ToolContext) -> ToolResult:
        if ctx.delegate is None:
            return ToolResult.error(NO_DELEGATE)
        try:
            diff = await ctx.delegate.changes(params.id)
            return ToolResult(await ctx.delegate.apply(params.id), display={"diff": diff})
        except ValueError as exc:
            raise ToolError(str(exc)) from None


def delegation_tools() -> list[Tool[object]]:
    return [Task(), TaskResult(), ApplyChanges()]  # type: ignore[list-item]
