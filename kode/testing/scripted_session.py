"""A real Session driven by a scripted model: real tools, real local environment, real policy.

The one way tests, benchmarks and users' own automation build an in-process session without a
provider. Only the model is scripted; everything a turn touches is the production code.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kode.core.agent import AgentSettings
from kode.core.permissions import PermissionMode, PermissionPolicy
from kode.core.session import Session, SessionOptions, StoreMemory
from kode.protocol.events import Event
from kode.runtime.local import LocalEnvironment
from kode.testing.scripted_model import ScriptedModel
from kode.tools.base import Tool, ToolRegistry
from kode.tools.builtin import builtin_tools


def scripted_session(
    workspace: str | Path,
    model: ScriptedModel,
    *,
    mode: PermissionMode | str = PermissionMode.DEFAULT,
    allow: Iterable[str] = (),
    deny: Iterable[str] = (),
    interactive: bool = True,
    extra_tools: Iterable[Tool[Any]] = (),
    max_turns: int = 20,
    model_name: str = "scripted/test",
    session_id: str | None = None,
    history: list[Event] | None = None,
    memory: StoreMemory | None = None,
) -> Session:
    return Session(
        settings=AgentSettings(model=model_name, max_turns=max_turns),
        model=model,
        tools=ToolRegistry([*builtin_tools(), *extra_tools]),
        env=LocalEnvironment(workspace),
        policy=PermissionPolicy(mode, allow=allow, deny=deny),
        options=SessionOptions(interactive=interactive),
        session_id=session_id,
        history=history,
        memory=memory,
    )
