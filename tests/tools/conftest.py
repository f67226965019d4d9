"""Fixtures for the built-in tools: a real workspace in a tmp dir, a LocalEnvironment on it, and
`call`, which runs a tool the way the agent loop does (validate arguments, run, ToolError -> error
result). Environment errors are deliberately *not* converted here: a tool must do that itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kode.runtime.local import LocalEnvironment
from kode.tools.base import (
    AgentToolState,
    ToolContext,
    ToolRegistry,
    ToolResult,
    ToolSettings,
)
from kode.tools.builtin import builtin_tools

from .helpers import Call, run_tool


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def env(ws: Path) -> LocalEnvironment:
    return LocalEnvironment(ws, kill_grace=0.3)


@pytest.fixture
def settings() -> ToolSettings:
    return ToolSettings()


@pytest.fixture
def ctx(env: LocalEnvironment, settings: ToolSettings) -> ToolContext:
    return ToolContext(env=env, state=AgentToolState(), settings=settings)


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(builtin_tools())


@pytest.fixture
def call(registry: ToolRegistry, ctx: ToolContext) -> Call:
    async def _call(name: str, /, **arguments: Any) -> ToolResult:
        tool, params = registry.parse(name, arguments)
        return await run_tool(tool, params, ctx)

    return _call
