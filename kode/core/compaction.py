"""Compaction: keeping a long conversation inside the model's window without losing the thread.

When the next request would pass `compact_at` of the window (or the provider says the context is
too long, or the user asks with `/compact`), the conversation is compacted, cheapest first:

1. Old tool outputs are pruned (the model rarely needs a file listing from an hour ago). If that
   is enough, nothing else changes.
2. Otherwise everything before the last `keep_turns` user turns is summarised by the `fast`
   model into a structured summary (goal, decisions, files touched, open tasks), followed by the
   current contents of the files that were being edited; the last turns stay verbatim.
3. If the summary cannot be made (the model fails), the old turns are dropped with a note
   saying so: a failed compaction never leaves the session stuck.

A compaction is an event (`context_compacted`) that the transcript applies, so resume rebuilds
exactly the context the model had. Project instructions are not part of the transcript: they are
re-read into every request's system prompt, so they survive every compaction whole.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kode.llm.complete import complete
from kode.llm.errors import LLMError
from kode.llm.types import ChatRequest
from kode.protocol.events import ContextCompacted

if TYPE_CHECKING:
    from kode.core.agent import Agent

CHARS_PER_TOKEN = 4
DEFAULT_WINDOW = 128_000
"""When neither the config nor litellm's model map knows the model's window."""
PRUNED_TOOL_CHARS = 300
FILE_CHARS = 8_000
EDIT_TOOLS = ("write_file", "edit_file")
OVERFLOW_TARGET = 0.6
"""After the provider refused a context as too long, compact to this share of its size at most."""

SUMMARY_PROMPT = """You are compacting a coding session so that it can continue in a fresh context window.
Summarise the conversation below for the assistant that will continue it. Use exactly these sections:
## Goal
## Decisions made
## Files touched (path: what changed)
## Open tasks (what remains, in order)
## Key facts (names, commands, errors, anything needed later)
Be specific and complete about open tasks; be brief about everything else.{focus}"""


@dataclass(slots=True)
class CompactionSettings:
    window: int = 0
    """Tokens the model accepts; 0: from litellm's model info (else DEFAULT_WINDOW)."""
    compact_at: float = 0.8
    keep_turns: int = 4
    summarizer: str | None = None
    """The model that writes summaries (the `fast` role); None: the agent's own."""


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A cheap, slightly pessimistic count: JSON characters / 4."""
    return sum(len(json.dumps(m, ensure_ascii=False)) for m in messages) // CHARS_PER_TOKEN + 1


def request_overhead(request: ChatRequest) -> int:
    """What a request adds to its transcript, in tokens: the system prompt and the tool schemas
    (providers count both against the window; with many tools they are thousands of tokens)."""
    tools = len(json.dumps(request.tools, ensure_ascii=False)) // CHARS_PER_TOKEN if request.tools else 0
    return estimate_tokens(request.messages[:1]) + tools


def keep_from(messages: list[dict[str, Any]], keep_turns: int) -> int:
    """Index of the first message of the last `keep_turns` user turns (a turn starts at a user
    message, so what is kept never opens with a tool result whose call was dropped)."""
    starts = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not starts:
        return 0
    return starts[-keep_turns] if len(starts) >= keep_turns else starts[0]


def prune_tool_outputs(messages: list[dict[str, Any]], before: int) -> list[dict[str, Any]]:
    """Tool results before `before` cut to their first lines, marked as pruned."""
    pruned = []
    for index, message in enumerate(messages):
        content = message.get("content")
        if index < before and message["role"] == "tool" and isinstance(content, str) and len(content) > PRUNED_TOOL_CHARS:
            message = {**message, "content": content[:PRUNED_TOOL_CHARS] + f"\n[output pruned: {len(content)} chars]"}
        pruned.append(message)
    return pruned


def apply_compaction(messages: list[dict[str, Any]], event: ContextCompacted) -> list[dict[str, Any]]:
    """The transcript after `event` (used by Transcript.apply, live and on resume)."""
    start = max(0, len(messages) - event.keep_last)
    if not event.summary:
        return prune_tool_outputs(messages, start)
    head = [
        {"role": "user", "content": event.summary},
        {"role": "assistant", "content": "Understood. I will continue from this summary."},
    ]
    kept = messages[start:]
    return head + (prune_tool_outputs(kept, len(kept)) if event.prune_kept else kept)


async def compact(
    agent: Agent, settings: CompactionSettings, *, reason: str, focus: str = "", overhead: int = 0
) -> ContextCompacted:
    """Compact `agent`'s transcript now (see the module docstring); returns the emitted event.

    `overhead` is what the request adds to the transcript (the system prompt), so the result is
    judged as the model will see it. When the latest turns alone are too big, fewer are kept
    (down to the current one)."""
    messages = agent.transcript.messages
    before = estimate_tokens(messages) + overhead
    limit = int(settings.window * settings.compact_at)
    if reason == "overflow":  # the provider counts differently than we do: aim well below what failed
        limit = min(limit, int(before * OVERFLOW_TARGET))
    start = keep_from(messages, settings.keep_turns)
    if reason != "manual" and start > 0:
        pruned = ContextCompacted(reason=reason, summary="", keep_last=len(messages) - start, tokens_before=before)
        # enough only with room to spare, or the next request compacts again at once
        if estimate_tokens(apply_compaction(messages, pruned)) < (limit - overhead) * 0.8:
            return _emit(agent, pruned, messages, overhead)
    summary, fallback = await _summarise(agent, settings, messages[:start], focus)
    summary += await _edited_files(agent, messages[:start])
    for turns in range(settings.keep_turns, 0, -1):
        start = keep_from(messages, turns)
        event = ContextCompacted(
            reason=reason, summary=summary, keep_last=len(messages) - start, tokens_before=before, fallback=fallback
        )
        if estimate_tokens(apply_compaction(messages, event)) + overhead <= limit:
            break
    else:  # even the current turn alone is too big: its tool outputs go too
        event = event.model_copy(update={"prune_kept": True})
    return _emit(agent, event, messages, overhead)


def _emit(agent: Agent, event: ContextCompacted, messages: list[dict[str, Any]], overhead: int) -> ContextCompacted:
    after = estimate_tokens(apply_compaction(messages, event)) + overhead
    return agent.emit(event.model_copy(update={"tokens_after": after}))  # type: ignore[return-value]


async def _summarise(
    agent: Agent, settings: CompactionSettings, old: list[dict[str, Any]], focus: str
) -> tuple[str, bool]:
    if not old:
        return "## Summary of the conversation so far\n(nothing before the recent turns)", False
    transcript = "\n\n".join(_render(m) for m in prune_tool_outputs(old, len(old)))
    prompt = SUMMARY_PROMPT.format(focus=f"\nPay particular attention to: {focus}" if focus.strip() else "")
    request = ChatRequest(
        model=settings.summarizer or agent.settings.model,
        messages=[{"role": "system", "content": prompt}, {"role": "user", "content": transcript}],
        api_base=agent.settings.api_base,
        api_key=agent.settings.api_key,
    )
    try:
        done = await complete(agent.model, request)
    except LLMError as exc:
        note = f"[{len(old)} earlier messages were dropped: they could not be summarised ({exc.info.message})]"
        return note, True
    agent.bill("summary", done)
    summary = done.text.strip()
    if not summary:
        return f"[{len(old)} earlier messages were dropped: the summary came back empty]", True
    return "## Summary of the conversation so far\n" + summary, False


async def _edited_files(agent: Agent, old: list[dict[str, Any]]) -> str:
    """The current contents of files written or edited in the summarised part, re-read now."""
    paths = called_paths(old, EDIT_TOOLS)
    sections = []
    for path in paths[-5:]:
        try:
            data = await agent.env.read_bytes(await agent.env.resolve(path, must_exist=True), limit=FILE_CHARS)
        except Exception:  # noqa: BLE001 - a file deleted since is simply not shown
            continue
        sections.append(f"### {path}\n```\n{data.decode('utf-8', 'replace')}\n```")
    return "\n\n## Files being edited (current contents)\n" + "\n\n".join(sections) if sections else ""


def called_paths(messages: list[dict[str, Any]], tools: Collection[str] | None = None) -> list[str]:
    """The `path` arguments of the tool calls in `messages` (of `tools`, or of any tool), each
    once, in order: the files a stretch of conversation touched."""
    paths: list[str] = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            if tools is not None and function.get("name") not in tools:
                continue
            try:
                path = json.loads(function.get("arguments") or "{}").get("path")
            except (ValueError, AttributeError):
                continue
            if isinstance(path, str) and path not in paths:
                paths.append(path)
    return paths


def _render(message: dict[str, Any]) -> str:
    text = message.get("content") or ""
    calls = message.get("tool_calls") or []
    if calls:
        text += "\n" + "\n".join(f"[called {c['function']['name']}({c['function']['arguments']})]" for c in calls)
    return f"{message['role']}: {text}"
