"""Folding a stream of provider deltas into one message, tool calls included.

Tool-call arguments arrive as JSON fragments spread over many chunks, keyed by index, with the
id and name only on the first fragment. The assembler keeps them apart per index and hands them
out only when the stream finished cleanly, so a tool call from a cut stream is never executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kode.protocol.common import ToolCallInfo, Usage, new_id


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MessageAssembler:
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage | None = None

    def add_text(self, text: str) -> None:
        self.text.append(text)

    def add_thinking(self, text: str) -> None:
        self.thinking.append(text)

    def add_tool_fragment(self, index: int, call_id: str | None, name: str | None, arguments: str | None) -> None:
        call = self.calls.setdefault(index, _PartialCall())
        if call_id:
            call.id = call_id
        if name:
            call.name = name
        if arguments:
            call.arguments.append(arguments)

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def tool_calls(self) -> list[ToolCallInfo]:
        return [
            ToolCallInfo(id=call.id or new_id("call"), name=call.name, arguments="".join(call.arguments))
            for _, call in sorted(self.calls.items())
            if call.name
        ]

    def full_text(self) -> str:
        return "".join(self.text)

    def full_thinking(self) -> str:
        return "".join(self.thinking)
