"""Compaction keeps a long session inside the window without losing its thread.

A 200-turn scripted session on a small window: no request ever exceeds the window, the project
instructions and the open task survive every compaction (at least five), old tool outputs are
pruned, a summariser failure falls back to trimming, a "context too long" error compacts and
retries once, and /compact works by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from kode.core.compaction import CompactionSettings, estimate_tokens
from kode.core.instructions import ProjectInstructions
from kode.llm.errors import LLMError
from kode.llm.types import ChatRequest
from kode.protocol.common import ErrorKind, TurnStatus
from kode.protocol.events import ContextCompacted, SideCall, TurnFinished
from kode.protocol.ops import Compact, SubmitMessage
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session

WINDOW = 3_000
TASK = "OPEN-TASK-42: finish the parser"


def is_summary_request(request: ChatRequest) -> bool:
    return str(request.messages[0]["content"]).startswith("You are compacting")


def summariser(request: ChatRequest) -> Step:
    """Carries the open task forward, as a real summary would."""
    seen = "\n".join(str(m.get("content")) for m in request.messages)
    tasks = sorted({line.strip("- ") for line in seen.splitlines() if "OPEN-TASK" in line})
    return Step(text="## Goal\nKeep going.\n## Open tasks\n" + "\n".join(f"- {t}" for t in tasks))


def tool_tokens(tools: list) -> int:  # type: ignore[type-arg]
    return len(json.dumps(tools, ensure_ascii=False)) // 4


def sent_tokens(request: ChatRequest) -> int:
    """The request as the provider counts it: the messages and the tool schemas."""
    return estimate_tokens(request.messages) + tool_tokens(request.tools)


def session_for(tmp_path: Path, respond, window: int = WINDOW):  # type: ignore[no-untyped-def]
    """A session whose window is `window` tokens for the conversation, plus the tool schemas'."""
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    (ws / "AGENTS.md").write_text("RULE-XYZ: always run the tests.\n")
    (ws / "big.txt").write_text("line of a big file\n" * 400)
    model = ScriptedModel(default=respond)
    session = scripted_session(ws, model, mode="bypass", max_turns=5)
    session.agent.instructions = ProjectInstructions(session.agent.env)
    full = window + tool_tokens(session.agent.tools.schemas())
    session.agent.settings.compaction = CompactionSettings(window=full, compact_at=0.8, keep_turns=2)
    return session, model


async def turn(session, text: str) -> TurnFinished:  # type: ignore[no-untyped-def]
    await session.submit(SubmitMessage(text=text))
    finished = await session.wait_idle()
    assert finished is not None
    return finished


async def test_two_hundred_turns_stay_in_the_window_and_keep_the_thread(tmp_path: Path) -> None:
    def respond(request: ChatRequest) -> Step:
        if is_summary_request(request):
            return summariser(request)
        last = request.messages[-1]
        if last["role"] == "user" and str(last["content"]).endswith("7"):
            step = int(str(last["content"]).split()[-1])  # a different call each time (no loop guard)
            return Step(text="Reading.", tool_calls=[("read_file", {"path": "big.txt", "offset": step})])
        return Step(text="Working on it. " * 40)

    session, model = session_for(tmp_path, respond)
    await turn(session, f"Your task is {TASK}.")
    for step in range(1, 200):
        finished = await turn(session, f"step {step}")
        assert finished.status is TurnStatus.COMPLETED
    work = [r for r in model.requests if not is_summary_request(r)]
    window = session.agent.settings.compaction.window
    assert max(sent_tokens(r) for r in work) <= window
    compactions = [e for e in session.log.durable_events() if isinstance(e, ContextCompacted)]
    print(f"\n200 turns, window {window} tokens ({WINDOW} for the conversation): {len(compactions)} compactions")
    assert len([c for c in compactions if c.summary]) >= 5
    last = work[-1]
    assert "RULE-XYZ" in str(last.messages[0]["content"]), "instructions survive"
    assert any(TASK in str(m.get("content")) for m in last.messages[1:]), "the open task survives"


async def test_old_tool_outputs_are_pruned_before_anything_is_summarised(tmp_path: Path) -> None:
    def respond(request: ChatRequest) -> Step:
        if is_summary_request(request):
            return summariser(request)
        last = request.messages[-1]
        if last["role"] == "user":
            step = int(str(last["content"]).split()[-1])
            return Step(text="Reading.", tool_calls=[("read_file", {"path": "medium.txt", "offset": step + 1})])
        return Step(text="ok")

    session, model = session_for(tmp_path, respond, window=6_000)
    (tmp_path / "ws" / "medium.txt").write_text("a line of a medium file\n" * 120)
    for step in range(4):
        await turn(session, f"read it again {step}")
    compactions = [e for e in session.log.durable_events() if isinstance(e, ContextCompacted)]
    assert len(compactions) == 1 and not compactions[0].summary, "pruning was enough: nothing summarised"
    assert compactions[0].tokens_after < compactions[0].tokens_before
    assert not any(is_summary_request(r) for r in model.requests)
    assert "[output pruned:" in str(model.requests[-1].messages)


async def test_a_failed_summary_falls_back_to_trimming(tmp_path: Path) -> None:
    def respond(request: ChatRequest) -> Step:
        if is_summary_request(request):
            return Step(error=LLMError.make(ErrorKind.SERVER, "summariser down"))
        return Step(text="Working on it. " * 40)

    session, model = session_for(tmp_path, respond)
    for step in range(30):
        assert (await turn(session, f"step {step}")).status is TurnStatus.COMPLETED
    fallbacks = [e for e in session.log.durable_events() if isinstance(e, ContextCompacted) and e.fallback]
    assert fallbacks and "could not be summarised" in fallbacks[0].summary
    window = session.agent.settings.compaction.window
    assert max(sent_tokens(r) for r in model.requests if not is_summary_request(r)) <= window


async def test_context_too_long_compacts_and_retries_once(tmp_path: Path) -> None:
    calls = {"n": 0}

    def respond(request: ChatRequest) -> Step:
        if is_summary_request(request):
            return summariser(request)
        calls["n"] += 1
        if calls["n"] == 4:
            return Step(error=LLMError.make(ErrorKind.CONTEXT_TOO_LONG, "prompt is too long"))
        return Step(text="fine")

    session, _ = session_for(tmp_path, respond, window=100_000)
    for step in range(3):
        await turn(session, f"step {step}")
    finished = await turn(session, "one more")
    assert finished.status is TurnStatus.COMPLETED
    reasons = [e.reason for e in session.log.durable_events() if isinstance(e, ContextCompacted)]
    assert reasons == ["overflow"]


async def test_an_overflow_without_tool_output_to_prune_still_makes_the_retry_smaller(tmp_path: Path) -> None:
    """The provider's window is smaller than kode believes: pruning nothing is not an answer."""
    refused: list[int] = []

    def respond(request: ChatRequest) -> Step:
        if is_summary_request(request):
            return summariser(request)
        if sent_tokens(request) > 1_200 + tool_tokens(request.tools):  # the provider's real limit
            refused.append(sent_tokens(request))
            return Step(error=LLMError.make(ErrorKind.CONTEXT_TOO_LONG, "prompt is too long"))
        return Step(text="Working on it. " * 40)

    session, model = session_for(tmp_path, respond, window=100_000)
    for step in range(12):
        assert (await turn(session, f"step {step}")).status is TurnStatus.COMPLETED
    compactions = [e for e in session.log.durable_events() if isinstance(e, ContextCompacted)]
    assert compactions and all(c.reason == "overflow" and c.summary for c in compactions)
    assert all(c.tokens_after < c.tokens_before for c in compactions)
    assert len(refused) == len(compactions), "every refusal was followed by a retry that fit"


async def test_compact_by_hand_with_a_focus(tmp_path: Path) -> None:
    focus_seen: list[str] = []

    def respond(request: ChatRequest) -> Step:
        if is_summary_request(request):
            focus_seen.append(str(request.messages[0]["content"]))
            return summariser(request)
        return Step(text="ok")

    session, model = session_for(tmp_path, respond, window=100_000)
    await turn(session, f"Your task is {TASK}.")
    for step in range(4):
        await turn(session, f"step {step}")
    await session.submit(Compact(focus="the parser"))
    assert focus_seen and "Pay particular attention to: the parser" in focus_seen[0]
    await turn(session, "continue")
    assert TASK in str(model.requests[-1].messages[1]["content"])
    billed = [e for e in session.log.durable_events() if isinstance(e, SideCall)]
    assert [(b.purpose, b.model) for b in billed] == [("summary", "scripted/test")]
    assert billed[0].usage.input_tokens > 0
