"""Fixtures for the built-in tools: a real workspace in a tmp dir, a LocalEnvironment on it, and
`call`, which runs a tool the way the agent loop does (validate arguments, run, ToolError -> error
result). Environment errors are deliberately *not* converted here: a tool must do that itself.
`workspace` and `make_env` are what the Environment contract asks for besides `env`."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("kode.testing.environment_contract")

from kode.runtime.local import LocalEnvironment  # noqa: E402
from kode.testing.contract_support import MakeEnv, tool_caller  # noqa: E402
from kode.tools.base import AgentToolState, ToolContext, ToolRegistry, ToolSettings  # noqa: E402
from kode.tools.builtin import builtin_tools  # noqa: E402

from .helpers import Call  # noqa: E402


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def workspace(ws: Path) -> Path:
    return ws


@pytest.fixture
def make_env() -> MakeEnv:
    async def _make(root: Path) -> LocalEnvironment:
        return LocalEnvironment(root, kill_grace=0.3)

    return _make


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
    return tool_caller(ctx, registry)
