"""Routing rules pick the model per request; spending caps stop a turn with a clear error."""

from __future__ import annotations

from pathlib import Path

from kode.core.budget import Budget
from kode.core.routing import Routing
from kode.protocol.common import ErrorKind, TurnStatus, Usage
from kode.protocol.events import MessageCompleted
from kode.protocol.ops import SubmitMessage
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
