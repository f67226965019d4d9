"""Whole turns through the real litellm client over real HTTP, against the local fake provider.

Covers the fault matrix: every retryable fault is retried and the turn completes; every
non-retryable one ends the turn with a classified error after exactly one request (0 retries);
a tool call from a stream that was cut is never executed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kode.core.agent import AgentSettings
from kode.core.permissions import PermissionMode, PermissionPolicy
from kode.core.session import Session, SessionOptions
from kode.llm.litellm_adapter import LiteLLMModel
from kode.llm.retry import RetryPolicy
from kode.llm.retrying import RetryingModel
from kode.protocol import events as ev
from kode.protocol.common import ErrorKind, TurnStatus
from kode.protocol.ops import SubmitMessage
from kode.runtime.local import LocalEnvironment
from kode.testing.fake_provider import FakeProvider, Fault, Reply, ToolCall
from kode.tools.base import ToolRegistry
from kode.tools.builtin import builtin_tools

APIS = {
    "openai": ("openai/gpt-4o-mini", "openai_base"),
    "anthropic": ("anthropic/claude-3-5-haiku-20241022", "anthropic_base"),
}


@pytest.fixture(scope="module")
def provider():
    with FakeProvider() as fp:
        yield fp


@pytest.fixture(autouse=True)
def _fresh(provider):
    provider.clear()
    yield


def make_session(provider: FakeProvider, api: str, root: Path, *, mode=PermissionMode.BYPASS) -> Session:
    model, base_attr = APIS[api]
    return Session(
        settings=AgentSettings(model=model, api_base=getattr(provider, base_attr), api_key="sk-test", max_turns=10),
        model=RetryingModel(
            LiteLLMModel(idle_timeout=0.5, request_timeout=2.0),
            RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.05),
        ),
        tools=ToolRegistry(builtin_tools()),
        env=LocalEnvironment(root),
        policy=PermissionPolicy(mode),
        options=SessionOptions(interactive=False),
    )


async def run_turn(session: Session, text: str) -> tuple[ev.TurnFinished, list]:
    seen = []
    stream = session.events(0)
    await session.submit(SubmitMessage(text=text))

    async def follow():
        async for event in stream:
            seen.append(event)
            if isinstance(event, ev.TurnFinished):
                return event

    finished = await asyncio.wait_for(follow(), 30)
    await session.close()
    return finished, seen


@pytest.mark.parametrize("api", APIS)
async def test_multi_step_tool_loop(provider, api, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("alpha\nbeta\n")
    provider.script(
        Reply(text="Let me look.", tool_calls=[ToolCall("read_file", {"path": "notes.txt"}), ToolCall("grep", {"pattern": "beta"})]),
        Reply(tool_calls=[ToolCall("write_file", {"path": "out.txt", "content": "gamma\n"})]),
        Reply(text="Wrote out.txt."),
    )
    finished, seen = await run_turn(make_session(provider, api, tmp_path), "summarise notes")
    assert finished.status is TurnStatus.COMPLETED, finished.error
    assert finished.result == "Wrote out.txt."
    assert (tmp_path / "out.txt").read_text() == "gamma\n"
    assert finished.model_calls == 3 and len(provider.requests) == 3
    assert finished.usage.input_tokens > 0 and finished.usage.output_tokens > 0
    # the third request carries both tool results of the first round and the write result
    last = provider.requests[-1].body
    flat = str(last["messages"])
    assert "alpha" in flat and "beta" in flat and "gamma" not in flat.split("write_file")[0]
    streamed = "".join(e.text for e in seen if isinstance(e, ev.TextDelta))
    completed = [e.text for e in seen if isinstance(e, ev.MessageCompleted)]
    assert "Let me look." in completed  # authoritative; the last deltas may be folded into it
    assert streamed and "Let me look.".startswith(streamed[:8]), "text also streamed as deltas"


RETRYABLE = {
    "429+retry-after": lambda: Fault.status(429, retry_after=0.2),
    "500": lambda: Fault.status(500),
    "502": lambda: Fault.status(502),
    "503": lambda: Fault.status(503),
    "529-overloaded": lambda: Fault.status(529),
    "error-after-200": lambda: Fault.error_after_200(after_chunks=2),
    "cut-mid-stream": lambda: Fault.cut(after_chunks=3),
    "stall": lambda: Fault.stall(after_chunks=2, seconds=2),
    "reset": lambda: Fault.reset(),
    "hang": lambda: Fault.hang(3),
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("fault", RETRYABLE)
async def test_retryable_faults_are_retried_and_the_turn_completes(provider, api, fault, tmp_path) -> None:
    provider.script(Reply(text="partial words here", fault=RETRYABLE[fault]()), Reply(text="recovered"), Reply(text="recovered"))
    finished, seen = await run_turn(make_session(provider, api, tmp_path), "hi")
    assert finished.status is TurnStatus.COMPLETED, finished.error
    assert finished.result == "recovered"
    # litellm's Anthropic handler reconnects once on a reset by itself, whatever num_retries says
    # (docs/fake-provider.md); that hidden request may or may not happen.
    expected = (2, 3) if (api, fault) == ("anthropic", "reset") else (2,)
    assert len(provider.requests) in expected
    retries = [e for e in seen if isinstance(e, ev.Retrying)]
    if (api, fault) == ("anthropic", "reset") and not retries:
        # litellm's own reconnect took the next reply before kode saw an error: nothing to retry.
        assert len(provider.requests) == 2
    else:
        assert len(retries) == 1 and retries[0].error.retryable
    if fault.startswith("429"):
        assert retries[0].delay >= 0.2, "Retry-After is honoured"
    completed = [e for e in seen if isinstance(e, ev.MessageCompleted)]
    assert [c.text for c in completed] == ["recovered"], "the broken attempt's text is voided"


NON_RETRYABLE = {
    "401": (lambda: Fault.auth(), ErrorKind.AUTH),
    "400": (lambda: Fault.status(400, message="bad request"), ErrorKind.BAD_REQUEST),
    "spend-limit": (lambda: Fault.spend_limit(), ErrorKind.SPEND_LIMIT),
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("fault", NON_RETRYABLE)
async def test_non_retryable_faults_fail_classified_with_zero_retries(provider, api, fault, tmp_path) -> None:
    make_fault, kind = NON_RETRYABLE[fault]
    provider.script(Reply(fault=make_fault()), Reply(text="must not be reached"))
    finished, seen = await run_turn(make_session(provider, api, tmp_path), "hi")
    assert finished.status is TurnStatus.FAILED
    assert finished.error is not None and finished.error.kind is kind and not finished.error.retryable
    assert len(provider.requests) == 1
    assert not [e for e in seen if isinstance(e, ev.Retrying)]
    assert [e.error.kind for e in seen if isinstance(e, ev.ErrorEvent)] == [kind]


@pytest.mark.parametrize("api", APIS)
async def test_context_too_long_compacts_and_retries_exactly_once(provider, api, tmp_path) -> None:
    provider.script(Reply(fault=Fault.context_too_long()), Reply(text="fits now"))
    finished, seen = await run_turn(make_session(provider, api, tmp_path), "hi")
    assert finished.status is TurnStatus.COMPLETED and finished.result == "fits now"
    assert [e.reason for e in seen if isinstance(e, ev.ContextCompacted)] == ["overflow"]

    provider.script(Reply(fault=Fault.context_too_long()), Reply(fault=Fault.context_too_long()), Reply(text="never"))
    (tmp_path / "again").mkdir()
    finished, seen = await run_turn(make_session(provider, api, tmp_path / "again"), "hi")
    assert finished.status is TurnStatus.FAILED and finished.error.kind is ErrorKind.CONTEXT_TOO_LONG
    assert not [e for e in seen if isinstance(e, ev.Retrying)]
    assert len(provider.requests) == 4, "one compaction, one retry, no more"


@pytest.mark.parametrize("api", APIS)
async def test_retries_are_capped(provider, api, tmp_path) -> None:
    provider.script(*[Reply(fault=Fault.status(503)) for _ in range(5)])
    finished, _ = await run_turn(make_session(provider, api, tmp_path), "hi")
    assert finished.status is TurnStatus.FAILED
    assert finished.error.kind in (ErrorKind.SERVER, ErrorKind.OVERLOADED)  # a 503 says "overloaded"
    assert "gave up after 3 attempts" in finished.error.message
    assert len(provider.requests) == 3


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("after_chunks", [3, 5, 8])
async def test_a_tool_call_from_a_cut_stream_is_never_executed(provider, api, after_chunks, tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    provider.script(
        Reply(tool_calls=[ToolCall("write_file", {"path": "victim.txt", "content": "x" * 200})], fault=Fault.cut(after_chunks=after_chunks)),
        Reply(text="I will not write after all."),
    )
    finished, seen = await run_turn(make_session(provider, api, tmp_path), "write it")
    assert finished.status is TurnStatus.COMPLETED
    assert not victim.exists()
    assert not [e for e in seen if isinstance(e, (ev.ToolCallStarted, ev.ToolCallRequested))]
