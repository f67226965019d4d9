"""With more tools than the limit, the relevant ones are offered and the rest stay callable."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from kode.protocol.events import ToolCallFinished
from kode.protocol.ops import SubmitMessage
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session
from kode.tools.base import Tool, ToolContext, ToolResult


class NoParams(BaseModel):
    pass


def extra_tool(name: str, description: str) -> Tool[NoParams]:
    class Extra(Tool[NoParams]):
        Params = NoParams
        kind = "other"

        async def run(self, params: NoParams, ctx: ToolContext) -> ToolResult:
            return ToolResult(f"{self.name} ran")

    Extra.name = name
    Extra.description = description
    return Extra()


async def test_only_relevant_tools_are_offered_and_the_rest_reachable(tmp_path: Path) -> None:
    extras = [extra_tool(f"service_{i}", f"Manage widget number {i}.") for i in range(60)]
    extras.append(extra_tool("jira_create_issue", "Create an issue in Jira for a bug."))
    model = ScriptedModel(Step(tool_calls=[("service_55", {})]), Step(text="done"))
    session = scripted_session(tmp_path, model, extra_tools=extras)
    session.agent.settings.max_offered_tools = 20
    await session.submit(SubmitMessage(text="file a jira issue for this bug"))
    await session.wait_idle()
    request = model.requests[0]
    offered = [t["function"]["name"] for t in request.tools]
    assert len(offered) <= 20
    assert "jira_create_issue" in offered and "read_file" in offered and "bash" in offered
    assert "service_55" not in offered and "service_55" in str(request.messages[0]["content"])
    finished = [e for e in session.log.durable_events() if isinstance(e, ToolCallFinished)]
    assert finished and finished[0].output == "service_55 ran", "a tool left out is still callable by name"


async def test_everything_is_offered_under_the_limit(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="ok"))
    session = scripted_session(tmp_path, model)
    await session.submit(SubmitMessage(text="hi"))
    await session.wait_idle()
    assert len(model.requests[0].tools) == len(session.agent.tools.names())
