"""Tool base class, per-call context and the registry that turns typed parameters into schemas.

A tool is a class with a pydantic `Params` model and an async `run`. The registry derives the
JSON schema the model sees from `Params`, validates the model's arguments into it once at the
edge, and never lets a tool see raw JSON. Tools declare what they do (`kind`) and what they touch
(`permission_target`) so the permission policy can decide without knowing any tool by name.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from kode.runtime.environment import Environment

ToolKind = Literal["read", "edit", "bash", "other"]
"""What a tool does, as the permission policy sees it:
read  - only looks (read_file, list, glob, grep): allowed in every mode, may run concurrently;
edit  - changes files (write_file, edit_file): asks in `default`, allowed in `accept-edits`;
bash  - runs commands: asks unless a rule allows every sub-command;
other - bookkeeping with no effect outside the session (todo): always allowed."""


@dataclass(slots=True)
class ToolSettings:
    """Limits the tools obey; filled from config by the session."""

    bash_default_timeout: float = 120.0
    bash_max_timeout: float = 600.0
    output_limit: int = 30_000
    read_max_bytes: int = 256 * 1024
    read_default_lines: int = 2000
    grep_max_results: int = 200


@dataclass(slots=True)
class AgentToolState:
    """State that carries over between one agent's tool calls."""

    cwd: str | None = None
    """The bash tool's working directory (canonical, inside the workspace); None means the root."""
    file_hashes: dict[str, str] = field(default_factory=dict)
    """sha256 of each file's content as the agent last read or wrote it, by canonical path.
    `edit_file` refuses to edit a file whose current hash differs (it changed on disk)."""
    todos: list[dict[str, Any]] = field(default_factory=list)


OutputSink = Callable[[str], Awaitable[None]]


async def _discard(_: str) -> None:
    return None


class Delegate(Protocol):
    """What the sub-agent tools (`task`, `task_result`, `apply_changes`) ask of the core: start
    child agents, wait for them, and apply a writer child's changes. None in a context where
    delegating is not allowed (a child at the depth limit)."""

    def agent_types(self) -> list[tuple[str, str]]:
        """(name, description) of every agent type a child can be."""
        ...

    async def start(self, goal: str, agent_type: str, files: list[str]) -> str:
        """Start a child on `goal`; returns its id at once (ValueError for a bad request)."""
        ...

    async def wait(self, child_ids: list[str], timeout: float | None) -> str:
        """Wait for these children (all of them) and report each one's outcome as text."""
        ...

    async def changes(self, child_id: str) -> str:
        """A finished writer child's diff (ValueError when there is none)."""
        ...

    async def apply(self, child_id: str) -> str:
        """Apply that diff to the workspace; conflicts are reported, nothing half-applied."""
        ...


@dataclass(slots=True)
class ToolContext:
    env: Environment
    state: AgentToolState
    settings: ToolSettings = field(default_factory=ToolSettings)
    call_id: str = ""
    agent_id: str = "root"
    emit_output: OutputSink = _discard
    """Streams a chunk of live output (shown to the user, not the model) while the tool runs."""
    delegate: Delegate | None = None
    """Sub-agents, for the tools that start and collect them."""


@dataclass(slots=True)
class ToolResult:
    output: str
    """What the model reads."""
    is_error: bool = False
    display: dict[str, Any] | None = None
    """Extra data for frontends, e.g. {"diff": "..."} for edits, {"exit_code": 0} for bash."""

    @classmethod
    def error(cls, message: str) -> ToolResult:
        return cls(output=message, is_error=True)


class ToolError(Exception):
    """Raised by a tool for an expected failure; becomes an error ToolResult with this message."""


P = TypeVar("P", bound=BaseModel)


class Tool(ABC, Generic[P]):
    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    kind: ClassVar[ToolKind] = "other"

    @property
    def read_only(self) -> bool:
        """Read-only calls may run concurrently with each other and are allowed in plan mode."""
        return self.kind == "read"

    def permission_target(self, params: P) -> str:
        """The string permission rules match against: a path for file tools, the command for bash."""
        return ""

    def summary(self, params: P) -> str:
        """A short human description of the call's arguments for tool-call cards and logs."""
        return self.permission_target(params)

    async def preview(self, params: P, ctx: ToolContext) -> str:
        """Exactly what the call would do, for an approval prompt (edit tools show the diff)."""
        return self.summary(params)

    @abstractmethod
    async def run(self, params: P, ctx: ToolContext) -> ToolResult: ...

    def schema(self) -> dict[str, Any]:
        """OpenAI-style function tool schema (litellm translates it for other providers)."""
        params = self.Params.model_json_schema()
        params.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": params},
        }


class UnknownTool(Exception):
    pass


class InvalidArguments(Exception):
    """The model's arguments did not parse or validate; the message is written for the model."""


class ToolRegistry:
    """The tools one agent may call, by name."""

    def __init__(self, tools: Iterable[Tool[Any]] = ()) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        self._schemas: list[dict[str, Any]] | None = None
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool[Any]) -> None:
        if tool.name in self._tools:
            raise ValueError(f"duplicate tool name {tool.name!r}")
        self._tools[tool.name] = tool
        self._schemas = None

    def get(self, name: str) -> Tool[Any]:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(f"unknown tool {name!r}; available: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tools.values())

    def schemas(self) -> list[dict[str, Any]]:
        """Every tool's schema; built once (pydantic's schema generation costs milliseconds)."""
        if self._schemas is None:
            self._schemas = [tool.schema() for tool in self._tools.values()]
        return self._schemas

    def parse(self, name: str, arguments: str | dict[str, Any]) -> tuple[Tool[Any], BaseModel]:
        """Find the tool and validate the model's arguments into its `Params`."""
        tool = self.get(name)
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as exc:
                raise InvalidArguments(f"arguments for {name} are not valid JSON: {exc}") from None
        if not isinstance(arguments, dict):
            raise InvalidArguments(f"arguments for {name} must be a JSON object")
        try:
            return tool, tool.Params.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
            )
            raise InvalidArguments(f"invalid arguments for {name}: {problems}") from None
