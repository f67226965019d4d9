"""Permission modes: how much the agent may do without asking."""

from __future__ import annotations

from enum import StrEnum


class PermissionMode(StrEnum):
    DEFAULT = "default"
    """Reads run; edits and commands ask unless a rule allows them."""
    ACCEPT_EDITS = "accept-edits"
    """Reads and file edits run; commands ask unless a rule allows them."""
    PLAN = "plan"
    """Read-only: edits and commands are denied, whatever the allow rules say."""
    BYPASS = "bypass"
    """Everything runs except what a deny rule matches. Only ever chosen explicitly."""

    def next(self) -> PermissionMode:
        """The mode after this one when cycling (Shift+Tab): default -> accept-edits -> plan ->
        default. Bypass is never reached by cycling; cycling out of it goes back to default."""
        if self not in _CYCLE:
            return PermissionMode.DEFAULT
        return _CYCLE[(_CYCLE.index(self) + 1) % len(_CYCLE)]

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_CYCLE = (PermissionMode.DEFAULT, PermissionMode.ACCEPT_EDITS, PermissionMode.PLAN)
_DESCRIPTIONS = {
    PermissionMode.DEFAULT: "ask before editing files or running commands",
    PermissionMode.ACCEPT_EDITS: "edit files without asking; ask before running commands",
    PermissionMode.PLAN: "read-only: look around and plan, change nothing",
    PermissionMode.BYPASS: "do everything without asking, except what deny rules forbid",
}
