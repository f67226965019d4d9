"""What kind of task a request is, so routing can send it to the model that suits it.

Five kinds, fixed so that config and docs can name them: `question`, `search`, `edit`, `debug`
and `plan`. The `router` model role classifies a request with one short completion; without
one (or when it fails or answers nonsense) a word count decides, which is free and good enough
for rules like "questions go to the cheap model". Classification never fails a turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kode.config.schema import TaskKind
from kode.llm.complete import complete
from kode.llm.errors import LLMError
from kode.llm.types import ChatRequest, Completed, ModelPort

KINDS: dict[TaskKind, str] = {
    "question": "explain or answer something about the code; nothing changes",
    "search": "find where something is: files, definitions, usages",
    "edit": "change the code: add, implement, refactor, rename, remove",
    "debug": "find and fix the cause of an error, a failing test or a crash",
    "plan": "design an approach or architecture before any change is made",
}

_WORDS: dict[str, tuple[str, ...]] = {
    "debug": (
        "error", "errors", "traceback", "exception", "fails", "failing", "failed", "failure", "bug",
        "crash", "crashes", "broken", "fix", "regression", "stacktrace", "segfault", "debug", "flaky",
    ),
    "plan": (
        "plan", "design", "architecture", "approach", "propose", "proposal", "strategy", "roadmap",
        "tradeoffs", "trade-offs", "outline", "rfc",
    ),
    "search": ("find", "where", "locate", "search", "grep", "usages", "callers", "defined", "which"),
    "edit": (
        "add", "implement", "change", "refactor", "rename", "write", "create", "update", "remove",
        "delete", "replace", "make", "convert", "migrate", "extract", "move", "support",
    ),
    "question": ("what", "why", "how", "explain", "describe", "understand", "summarize", "meaning"),
}
_PRECEDENCE = ("debug", "edit", "plan", "search", "question")
"""Ties go to the kind that needs the most capable model: a fix beats an explanation."""

ROUTER_PROMPT = (
    "Classify the user's request to a coding assistant as exactly one of these task kinds:\n"
    + "\n".join(f"- {kind}: {what}" for kind, what in KINDS.items())
    + "\nAnswer with the kind's name only."
)


@dataclass(frozen=True, slots=True)
class Classification:
    kind: str
    by: str
    """`router` when the router model answered, else `words`."""
    call: Completed | None = None
    """The router's call, whatever it answered, to be billed."""


def classify_by_words(text: str) -> str:
    """The kind whose words the request uses most; `question` when none match."""
    words = re.findall(r"[a-z][a-z-]*", text.lower())
    scores = {kind: sum(word in vocabulary for word in words) for kind, vocabulary in _WORDS.items()}
    best = max(scores.values())
    if best == 0:
        return "question"
    return next(kind for kind in _PRECEDENCE if scores[kind] == best)


def parse_kind(answer: str) -> str | None:
    """The first kind named in the router's answer, however chatty it was."""
    for word in re.findall(r"[a-z]+", answer.lower()):
        if word in KINDS:
            return word
    return None


async def classify(
    text: str, *, model: ModelPort, router_model: str, api_base: str | None, api_key: str | None
) -> Classification:
    """Ask `router_model` (when set) what kind of task `text` is; fall back to the words."""
    if router_model and text.strip():
        request = ChatRequest(
            model=router_model,
            messages=[{"role": "system", "content": ROUTER_PROMPT}, {"role": "user", "content": text[:4000]}],
            api_base=api_base,
            api_key=api_key,
            max_output_tokens=8,
            temperature=0,
        )
        try:
            call: Completed | None = await complete(model, request)
        except LLMError:
            call = None
        kind = parse_kind(call.text) if call is not None else None
        if kind is not None:
            return Classification(kind, "router", call)
        return Classification(classify_by_words(text), "words", call)
    return Classification(classify_by_words(text), "words")
