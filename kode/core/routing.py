"""Model routing rules: which model a request goes to, beyond the session's own.

Roles are fixed by purpose elsewhere (titles use `fast`, compaction summaries `summarizer`,
sub-agents their type's model). Here, per request, the first rule that applies wins:

1. a context past `long_context_tokens` goes to `long_context_model` (one with a bigger window),
   because a request that does not fit helps nobody;
2. once a session has spent `budget_share` of its cap, work moves to `budget_model` (a cheaper
   one) so the cap lasts;
3. the turn's task kind (kode.core.task_kinds: classified once per turn, by the `router` role
   or by the request's words) picks a model from `kinds`.

Kind routes replace the configured main model only (`routed_from`): a session switched to another
model with `/model` keeps it. None configured means the session's model, always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kode.core.budget import Budget


@dataclass(slots=True)
class Routing:
    long_context_model: str = ""
    long_context_tokens: int = 0
    budget_model: str = ""
    budget_share: float = 0.8
    kinds: dict[str, str] = field(default_factory=dict)
    """Task kind → model."""
    router_model: str = ""
    """The model that classifies requests; empty: by the request's words."""
    routed_from: str = ""
    """The configured main model: kind routes apply while the session uses it (empty: always)."""

    @property
    def by_kind(self) -> bool:
        return bool(self.kinds)

    def choose(self, model: str, context_tokens: int, budget: Budget | None, kind: str = "") -> str:
        if self.long_context_model and self.long_context_tokens and context_tokens > self.long_context_tokens:
            return self.long_context_model
        if self.budget_model and budget is not None and budget.session_usd:
            if budget.spent >= budget.session_usd * self.budget_share:
                return self.budget_model
        if kind and kind in self.kinds and (not self.routed_from or model == self.routed_from):
            return self.kinds[kind]
        return model
