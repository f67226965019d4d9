"""A stored session as Markdown or JSON, for `kode sessions export` and `/export`."""

from __future__ import annotations

import json
from typing import Any

from kode.protocol.codec import dump_event
from kode.protocol.events import (
    ErrorEvent,
    Event,
    MessageCompleted,
    SubagentSpawned,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    UserMessage,
)


def _fence(text: str, lang: str = "") -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _indent(agent_id: str) -> str:
    return "" if agent_id == "root" else "> "


def to_markdown(title: str, session_id: str, events: list[Event]) -> str:
    lines = [f"# {title or session_id}", "", f"Session `{session_id}`", ""]
    requested: dict[str, ToolCallRequested] = {}
    for event in events:
        quote = _indent(event.agent_id)
        match event:
            case UserMessage(text=text):
                lines += ["## User", "", text, ""]
            case MessageCompleted(text=text) if text:
                lines += [f"{quote}**Assistant**" + (f" ({event.agent_id})" if quote else ""), "", text, ""]
            case ToolCallRequested():
                requested[event.call_id] = event
            case ToolCallFinished(call_id=call_id, name=name, status=status, output=output):
                call = requested.get(call_id)
                summary = call.summary if call else ""
                lines += [f"{quote}**Tool** `{name}` {summary} — {status}", "", _fence(output[:4000]), ""]
                diff = (event.display or {}).get("diff")
                if diff:
                    lines += [_fence(diff, "diff"), ""]
            case SubagentSpawned(child_id=child, goal=goal):
                lines += [f"**Sub-agent** `{child}`: {goal}", ""]
            case ErrorEvent(error=error):
                lines += [f"**Error** ({error.kind.value}): {error.message}", ""]
            case TurnFinished(status=status, usage=usage) if event.agent_id == "root":
                lines += [
                    f"*Turn {status.value}: {usage.input_tokens} in / {usage.output_tokens} out tokens, "
                    f"${usage.cost_usd:.4f}*",
                    "",
                ]
            case _:
                pass
    return "\n".join(lines).rstrip() + "\n"


def to_json(record: dict[str, Any], events: list[Event]) -> str:
    payload = {"session": record, "events": [json.loads(dump_event(e)) for e in events]}
    return json.dumps(payload, indent=2, default=str) + "\n"
