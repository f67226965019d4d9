"""Model routing rules: which model a request goes to, beyond the session's own.

Roles are fixed by purpose elsewhere (titles use `fast`, compaction summaries `summarizer`,
sub-agents their type's model). Here, per request: a context past `long_context_tokens` goes to
`long_context_model` (one with a bigger window), and once a session has spent `budget_share` of
its cap, work moves to `budget_model` (a cheaper one) so the cap lasts. The first rule that
applies wins, in that order; none configured means the session's model, always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kode.core.budget import Budget


@dataclass(slots=True)
class Routing:
    long_context_model: str = ""
    long_context_tokens: int = 0
    budget_model: str = ""
    budget_share: float = 0.8

    def choose(self, model: str, context_tokens: int, budget: Budget | None) -> str:
        if self.long_context_model and self.long_context_tokens and context_tokens > self.long_context_tokens:
            return self.long_context_model
        if self.budget_model and budget is not None and budget.session_usd:
            if budget.spent >= budget.session_usd * self.budget_share:
                return self.budget_model
        return model
