"""bash: run a command in the workspace, with a working directory that carries over."""

from __future__ import annotations

import signal

from pydantic import BaseModel, ConfigDict, Field

from kode.runtime.environment import EnvironmentError_, RunResult
from kode.tools._common import env_errors, rel_path
from kode.tools.base import Tool, ToolContext, ToolResult


class BashParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = Field(
        min_length=1,
        description="The bash command to run (pipes, `&&`, redirections and multi-line scripts all work).",
    )
    timeout: float | None = Field(
        None,
        gt=0,
        description="Timeout in seconds. Default 120; the maximum is 600 (larger values are lowered to it). "
        "Raise it for long builds or test suites.",
    )
    description: str | None = Field(
        None, description="What the command does, in 5-10 words, shown to the user (e.g. 'Run the unit tests')."
    )


class Bash(Tool[BashParams]):
    name = "bash"
    description = (
        "Run a bash command in the workspace and return its combined stdout and stderr. The working directory "
        "carries over between calls (a `cd` persists); variables and other shell state do not. There is no "
        "terminal and stdin is empty, so use non-interactive flags. Commands time out after 120 s by default "
        "(max 600 s); on timeout the command and everything it started are killed. Long output is cut in the "
        "middle. To leave a process running, background it with its output redirected: `cmd > out.log 2>&1 &`. "
        "Prefer read_file, edit_file, grep and glob over cat, sed, grep and find."
    )
    Params = BashParams
    kind = "bash"

    def permission_target(self, params: BashParams) -> str:
        return params.command

    def summary(self, params: BashParams) -> str:
        if params.description:
            return params.description
        first = params.command.strip().splitlines()[0] if params.command.strip() else ""
        return first if len(first) <= 80 else first[:77] + "..."

    async def run(self, params: BashParams, ctx: ToolContext) -> ToolResult:
        settings = ctx.settings
        notes: list[str] = []
        timeout = params.timeout if params.timeout is not None else settings.bash_default_timeout
        if timeout > settings.bash_max_timeout:
            notes.append(
                f"The requested timeout of {timeout:g}s is above the maximum; {settings.bash_max_timeout:g}s was used."
            )
            timeout = settings.bash_max_timeout
        cwd = await _working_dir(ctx, notes)
        with env_errors():
            result = await ctx.env.run(
                params.command,
                cwd=cwd,
                timeout=timeout,
                output_limit=settings.output_limit,
                on_output=ctx.emit_output,
                track_cwd=True,
            )
        await _carry_cwd(ctx, result, notes)
        return _result(ctx, result, timeout, notes)


async def _working_dir(ctx: ToolContext, notes: list[str]) -> str:
    """The directory the last command ended in, if it still exists inside the workspace."""
    cwd = ctx.state.cwd
    if cwd is None:
        return ctx.env.root
    try:
        real = await ctx.env.resolve(cwd, must_exist=True)
        st = await ctx.env.stat(real)
    except EnvironmentError_:
        st = None
    if st is None or not st.is_dir:
        ctx.state.cwd = None
        notes.append(f"The previous working directory {cwd} no longer exists; the command ran in the workspace root.")
        return ctx.env.root
    return real


async def _carry_cwd(ctx: ToolContext, result: RunResult, notes: list[str]) -> None:
    if result.cwd_after is None:
        return  # killed, or the command replaced the EXIT trap: keep the previous directory
    try:
        real = await ctx.env.resolve(result.cwd_after)
    except EnvironmentError_:
        ctx.state.cwd = None
        notes.append(
            f"The command ended in {result.cwd_after}, outside the workspace; the next command will run in the "
            f"workspace root ({ctx.env.root})."
        )
        return
    ctx.state.cwd = None if real == ctx.env.root else real


def _result(ctx: ToolContext, result: RunResult, timeout: float, notes: list[str]) -> ToolResult:
    output = result.output.rstrip("\n") or "(no output)"
    status: list[str] = []
    if result.timed_out:
        status.append(f"Timed out after {timeout:g}s: the command and every process it started were killed.")
    elif result.exit_code is not None and result.exit_code < 0:
        status.append(f"Killed by signal {_signal_name(-result.exit_code)}.")
    elif result.exit_code:
        status.append(f"Exit code {result.exit_code}.")
    status.extend(notes)
    if status:
        output += "\n\n[" + " ".join(status) + "]"
    cwd = ctx.state.cwd or ctx.env.root
    return ToolResult(
        output=output,
        is_error=result.timed_out,
        display={
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "truncated": result.truncated,
            "cwd": rel_path(ctx.env, cwd),
        },
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
