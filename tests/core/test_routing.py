"""Routing rules pick the model per request; spending caps stop a turn with a clear error."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import get_args

import pytest

from kode.config.schema import TaskKind
from kode.core.budget import Budget
from kode.core.routing import Routing
from kode.core.task_kinds import KINDS, classify_by_words, parse_kind
from kode.llm.errors import LLMError
from kode.protocol.common import ErrorInfo, ErrorKind, TurnStatus, Usage
from kode.protocol.events import MessageCompleted, SideCall, TurnFinished, TurnStarted
from kode.protocol.ops import Cancel, SetModel, SubmitMessage
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session


def spend(budget: Budget, usd: float) -> None:
    budget.record(MessageCompleted(message_id="m", text="", usage=Usage(cost_usd=usd)))


def test_long_context_and_budget_rules() -> None:
    routing = Routing(long_context_model="big", long_context_tokens=1000, budget_model="cheap", budget_share=0.5)
    budget = Budget(session_usd=1.0)
    assert routing.choose("main", 10, budget) == "main"
    assert routing.choose("main", 5000, budget) == "big"
    spend(budget, 0.6)
    assert routing.choose("main", 10, budget) == "cheap"
    assert Routing().choose("main", 10**6, budget) == "main", "no rules, no routing"


async def test_requests_go_to_the_routed_model(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="a" * 8000), Step(text="short"))
    session = scripted_session(tmp_path, model)
    session.agent.settings.routing = Routing(long_context_model="big-window", long_context_tokens=1500)
    for text in ("first", "second"):
        await session.submit(SubmitMessage(text=text))
        await session.wait_idle()
    assert [r.model for r in model.requests] == ["scripted/test", "big-window"]


async def test_a_reached_cap_fails_the_turn_before_calling_the_model(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="never"))
    session = scripted_session(tmp_path, model)
    budget = Budget(session_usd=0.5, daily_usd=10.0, spent_today_elsewhere=9.9)
    session.agent.budget = budget
    spend(budget, 0.2)
    await session.submit(SubmitMessage(text="go"))
    finished = await session.wait_idle()
    assert finished is not None and finished.status is TurnStatus.FAILED
    assert finished.error is not None and finished.error.kind is ErrorKind.SPEND_LIMIT
    assert "today's spending cap of $10.00" in finished.error.message and finished.error.hint
    assert model.requests == []


# -- routing by task kind ---------------------------------------------------------------------


def test_the_words_of_a_request_give_its_kind() -> None:
    assert classify_by_words("Why does the cache use sha1?") == "question"
    assert classify_by_words("where is parse_config defined") == "search"
    assert classify_by_words("Add a --json flag to the export command") == "edit"
    assert classify_by_words("the tests fail with a KeyError traceback, fix it") == "debug"
    assert classify_by_words("propose a design for plugin loading") == "plan"
    assert classify_by_words("") == "question"


def test_the_kind_is_read_out_of_a_chatty_router_answer() -> None:
    assert parse_kind("Debug.") == "debug"
    assert parse_kind("I think this is a `search` task") == "search"
    assert parse_kind("no idea") is None


def test_kind_names_in_config_and_classifier_agree() -> None:
    assert tuple(KINDS) == get_args(TaskKind)


def kind_routing(**kinds: str) -> Routing:
    return Routing(kinds=kinds, router_model="router-model", routed_from="scripted/test")


async def _one_turn(session, text: str):
    seen = []
    stream = session.events(session.log.last_seq)
    await session.submit(SubmitMessage(text=text))
    async for event in stream:
        seen.append(event)
        if isinstance(event, TurnFinished) and event.agent_id == "root":
            return seen, event
    raise AssertionError("no turn_finished")


async def test_the_router_classifies_and_the_kind_picks_the_model(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="debug"), Step(text="fixed"))
    session = scripted_session(tmp_path, model)
    session.agent.settings.routing = kind_routing(debug="strong-model", question="cheap-model")
    seen, finished = await _one_turn(session, "it crashes on start")
    assert finished.status is TurnStatus.COMPLETED and finished.result == "fixed"
    assert [r.model for r in model.requests] == ["router-model", "strong-model"]
    assert "it crashes on start" in model.requests[0].messages[-1]["content"]
    started = next(e for e in seen if isinstance(e, TurnStarted))
    assert (started.task_kind, started.model) == ("debug", "strong-model")
    billed = [e for e in seen if isinstance(e, SideCall)]
    assert [(b.purpose, b.model) for b in billed] == [("router", "router-model")]
    answer = next(e for e in seen if isinstance(e, MessageCompleted))
    assert finished.usage == billed[0].usage + answer.usage, "the router's call is part of the turn's cost"


def test_side_calls_count_against_the_spending_cap() -> None:
    budget = Budget(session_usd=0.01)
    budget.record(SideCall(purpose="summary", model="cheap", usage=Usage(cost_usd=0.02)))
    with pytest.raises(LLMError, match="spending cap"):
        budget.check()


async def test_a_failing_or_confused_router_falls_back_to_the_words(tmp_path: Path) -> None:
    failure = LLMError(ErrorInfo(kind=ErrorKind.SERVER, message="router down"))
    model = ScriptedModel(Step(error=failure), Step(text="a"), Step(text="banana"), Step(text="b"))
    session = scripted_session(tmp_path, model)
    session.agent.settings.routing = kind_routing(question="cheap-model")
    for text in ("explain what the cache is for", "what does main do"):
        _, finished = await _one_turn(session, text)
        assert finished.status is TurnStatus.COMPLETED
    assert [r.model for r in model.requests] == ["router-model", "cheap-model"] * 2


async def test_a_session_switched_with_slash_model_keeps_its_model(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="question"), Step(text="answer"))
    session = scripted_session(tmp_path, model)
    session.agent.settings.routing = kind_routing(question="cheap-model")
    await session.submit(SetModel(model="my-choice"))
    _, finished = await _one_turn(session, "what is this")
    assert finished.status is TurnStatus.COMPLETED
    assert [r.model for r in model.requests] == ["router-model", "my-choice"]


async def test_without_a_router_model_no_extra_call_is_made(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="done"))
    session = scripted_session(tmp_path, model)
    session.agent.settings.routing = Routing(kinds={"edit": "editor-model"}, routed_from="scripted/test")
    _, finished = await _one_turn(session, "rename foo to bar everywhere")
    assert finished.status is TurnStatus.COMPLETED
    assert [r.model for r in model.requests] == ["editor-model"]


async def test_a_cancel_while_the_router_answers_ends_the_turn_as_cancelled(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="q u e s t i o n", delay=0.2, chunks=8), Step(text="next"))
    session = scripted_session(tmp_path, model)
    session.agent.settings.routing = kind_routing(question="cheap-model")
    stream = session.events(session.log.last_seq)
    await session.submit(SubmitMessage(text="what is this"))
    await asyncio.sleep(0.3)
    await session.submit(Cancel())
    kinds = []
    async for event in stream:
        kinds.append(type(event).__name__)
        if isinstance(event, TurnFinished):
            assert event.status is TurnStatus.CANCELLED
            break
    assert "TurnStarted" in kinds
    assert len(model.requests) == 1, "the cancelled turn never reached the main model"
