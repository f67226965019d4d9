"""The conversation as Markdown (what `/export` writes when the session store does not)."""

from __future__ import annotations

from kode.protocol.common import ROOT_AGENT
from kode.tui.state import (
    AgentView,
    AssistantItem,
    ConversationState,
    NoticeItem,
    SubagentItem,
    ToolItem,
    UserItem,
)


def _fence(text: str, info: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


def agent_markdown(agent: AgentView) -> list[str]:
    parts: list[str] = []
    for item in agent.items:
        if isinstance(item, UserItem):
            parts.append(f"## You\n\n{item.text}")
        elif isinstance(item, AssistantItem):
            parts.append(f"## Assistant\n\n{item.text}")
        elif isinstance(item, ToolItem):
            block = f"### Tool: {item.name} — {item.summary} ({item.status})"
            body = item.diff or item.output
            parts.append(block + ("\n\n" + _fence(body, "diff" if item.diff else "") if body else ""))
        elif isinstance(item, NoticeItem):
            parts.append(f"> **{item.level}**: {item.text}")
        elif isinstance(item, SubagentItem):
            parts.append(f"### Sub-agent {item.agent_type}: {item.goal} ({item.status})\n\n{item.result}")
    return parts


def conversation_markdown(state: ConversationState) -> str:
    status = state.status
    head = [f"# kode session {status.session_id}".rstrip(), f"Model: {status.model}  ", f"Directory: {status.cwd}"]
    parts = ["\n".join(head), *agent_markdown(state.agents[ROOT_AGENT])]
    for agent in state.subagents():
        parts.append(f"---\n\n# Sub-agent {agent.agent_type or agent.agent_id}: {agent.goal}")
        parts.extend(agent_markdown(agent))
    return "\n\n".join(parts) + "\n"
