"""Agent-loop overhead per tool round trip, excluding model and tool time (target < 5 ms).

A real Session (event log, transcript, tool runner, permission policy, approvals) is driven by
an in-process scripted model that answers instantly and a tool that does nothing. The time spent
inside the model's stream and inside the tool is measured and subtracted, so what remains is
kode's own work per round: building the request from the transcript, emitting and stamping
events, validating arguments, deciding permissions, folding results back.
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from pydantic import BaseModel

from kode.protocol.events import TurnFinished
from kode.protocol.ops import SubmitMessage
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session
from kode.tools.base import Tool, ToolContext, ToolResult


class Noop(Tool):
    name: ClassVar[str] = "noop"
    description: ClassVar[str] = "does nothing"
    kind = "read"
    spent = 0.0

    class Params(BaseModel):
        i: int

    async def run(self, params, ctx: ToolContext) -> ToolResult:
        started = time.perf_counter()
        result = ToolResult(output=f"ok {params.i}")
        Noop.spent += time.perf_counter() - started
        return result


class TimedModel(ScriptedModel):
    spent = 0.0

    async def stream(self, request):
        started = time.perf_counter()
        async for delta in super().stream(request):
            TimedModel.spent += time.perf_counter() - started
            yield delta
            started = time.perf_counter()
        TimedModel.spent += time.perf_counter() - started


async def measure(rounds: int) -> float:
    counter = iter(range(10**9))
    model = TimedModel(default=lambda request: Step("working", tool_calls=[("noop", {"i": next(counter)})]))
    model.add(*[])
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        session = scripted_session(
            tmp, model, extra_tools=[Noop()], max_turns=rounds, model_name="scripted/bench"
        )
        TimedModel.spent = Noop.spent = 0.0
        stream = session.events(0)
        started = time.perf_counter()
        await session.submit(SubmitMessage(text="go"))
        async for event in stream:
            if isinstance(event, TurnFinished):
                break
        total = time.perf_counter() - started
        await session.close()
    return (total - TimedModel.spent - Noop.spent) / rounds


def main() -> float:
    asyncio.run(measure(20))  # warm-up
    per_round = {n: asyncio.run(measure(n)) for n in (50, 200)}
    for n, value in per_round.items():
        print(f"agent loop overhead per tool round trip ({n} rounds in one turn): {value * 1000:.3f} ms")
    return per_round[200]


if __name__ == "__main__":
    main()
