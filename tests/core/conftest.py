"""A real session (real tools, real local environment, real policy) driven by a scripted model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kode.core.permissions import PermissionMode
from kode.core.session import Session
from kode.protocol import events as ev
from kode.protocol.events import Event
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session
from kode.tools.base import Tool


@dataclass
class Harness:
    session: Session
    model: ScriptedModel
    workspace: Path
    seen: list[Event] = field(default_factory=list)

    async def turn(self, text: str, *, on_event: Callable[[Event], object] | None = None, timeout: float = 10) -> ev.TurnFinished:
        """Submit a message and collect events until the root turn finishes."""
        stream = self.session.events(self.session.log.last_seq)
        await self.session.submit(_submit(text))

        async def follow() -> ev.TurnFinished:
            async for event in stream:
                self.seen.append(event)
                if on_event is not None:
                    result = on_event(event)
                    if asyncio.iscoroutine(result):
                        await result
                if isinstance(event, ev.TurnFinished) and event.agent_id == "root":
                    return event
            raise AssertionError("log closed before the turn finished")

        return await asyncio.wait_for(follow(), timeout)

    def of(self, kind: type) -> list:
        return [e for e in self.seen if isinstance(e, kind)]


def _submit(text: str):
    from kode.protocol.ops import SubmitMessage

    return SubmitMessage(text=text)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "hello.py").write_text("def greet():\n    return 'hello'\n")
    return root


@pytest.fixture
def make_harness(workspace: Path):
    def make(
        *steps: Step,
        mode: PermissionMode = PermissionMode.DEFAULT,
        allow: tuple[str, ...] = (),
        deny: tuple[str, ...] = (),
        interactive: bool = True,
        extra_tools: tuple[Tool, ...] = (),
        max_turns: int = 20,
        default: Callable | None = None,
    ) -> Harness:
        model = ScriptedModel(*steps, default=default)
        session = scripted_session(
            workspace,
            model,
            mode=mode,
            allow=allow,
            deny=deny,
            interactive=interactive,
            extra_tools=extra_tools,
            max_turns=max_turns,
        )
        return Harness(session=session, model=model, workspace=workspace)

    return make
