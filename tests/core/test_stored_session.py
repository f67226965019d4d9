"""A session bound to a real SQLite store: titles from the fast model, interrupted turns closed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kode.core.session import Session
from kode.core.stored_session import StoredSession
from kode.llm.errors import LLMError
from kode.protocol import events as ev
from kode.protocol.common import ErrorKind, TurnStatus
from kode.protocol.ops import SubmitMessage
from kode.store import Store
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session


def make_session(workspace: Path, model: ScriptedModel, **kwargs) -> Session:
    return scripted_session(workspace, model, model_name="scripted/main", **kwargs)


async def run_turn(session: Session, text: str) -> ev.TurnFinished:
    stream = session.events(session.log.last_seq)
    await session.submit(SubmitMessage(text=text))
    async for event in stream:
        if isinstance(event, ev.TurnFinished):
            return event
    raise AssertionError("no turn_finished")


async def wait_for_title(store: Store, session_id: str, expected: str) -> str:
    for _ in range(100):
        title = (await store.get_session(session_id)).title
        if title == expected:
            return title
        await asyncio.sleep(0.02)
    return title


async def test_the_fast_model_titles_a_new_session_after_its_first_exchange(tmp_path: Path) -> None:
    model = ScriptedModel(Step("The greeting now says hi."), Step('"Friendlier greeting function."'))
    async with await Store.open(f"sqlite:///{tmp_path / 'k.db'}") as store:
        session = make_session(tmp_path, model)
        stored = await StoredSession.begin(store, session, owner="test", new=True, title="make greet say hi", title_model="scripted/fast")
        assert (await store.get_session(session.id)).title == "make greet say hi"
        finished = await run_turn(session, "make greet say hi")
        assert finished.status is TurnStatus.COMPLETED
        assert await wait_for_title(store, session.id, "Friendlier greeting function") == "Friendlier greeting function"
        title_request = model.requests[-1]
        assert title_request.model == "scripted/fast" and title_request.tools == []
        await stored.close()


async def test_a_failing_title_model_keeps_the_provisional_title(tmp_path: Path) -> None:
    model = ScriptedModel(Step("done"), Step(error=LLMError.make(ErrorKind.AUTH, "no key")))
    async with await Store.open(f"sqlite:///{tmp_path / 'k.db'}") as store:
        session = make_session(tmp_path, model)
        stored = await StoredSession.begin(store, session, owner="test", new=True, title="first line", title_model="scripted/fast")
        await run_turn(session, "first line")
        await asyncio.sleep(0.2)
        assert (await store.get_session(session.id)).title == "first line"
        await stored.close()


async def test_a_turn_left_open_is_closed_as_interrupted_and_the_session_continues(tmp_path: Path) -> None:
    async with await Store.open(f"sqlite:///{tmp_path / 'k.db'}") as store:
        crashed = make_session(tmp_path, ScriptedModel())
        await store.create_session(id=crashed.id, cwd=str(tmp_path), model="scripted/main")
        # what a killed process leaves: a user message and a turn that never finished
        started = [
            crashed.log.append(ev.SessionStarted(cwd=str(tmp_path), model="m", permission_mode="default", kode_version="0")),
            crashed.log.append(ev.UserMessage(message_id="u", text="hello")),
            crashed.log.append(ev.TurnStarted(turn_id="t1", model="m")),
        ]
        await store.append_events(crashed.id, started)

        model = ScriptedModel(Step("picking up again"))
        resumed = make_session(tmp_path, model, session_id=crashed.id, history=await store.load_events(crashed.id))
        stored = await StoredSession.begin(store, resumed, owner="test", new=False)
        finished = await run_turn(resumed, "go on")
        assert finished.status is TurnStatus.COMPLETED
        await stored.close()
        kinds = [(e.type, getattr(e, "status", None)) for e in await store.load_events(crashed.id)]
        assert ("turn_finished", TurnStatus.INTERRUPTED) in kinds
        assert kinds.count(("session_started", None)) == 1
        assert [m["role"] for m in model.requests[0].messages] == ["system", "user", "user"]
