"""The status line: what the agent is doing, model, permission mode, context, tokens, cost, branch."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from kode.protocol.text import one_line
from kode.tui.state import StatusInfo

STATE_LABELS = {
    "idle": "ready",
    "thinking": "thinking",
    "running_tool": "running",
    "waiting_for_approval": "waiting for approval",
    "done": "ready",
    "failed": "failed",
    "cancelled": "cancelled",
}


def human_tokens(count: int) -> str:
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.2f}M"


def context_percent(status: StatusInfo, window: int) -> int:
    return min(100, round(100 * status.context_tokens / window)) if window > 0 else 0


def status_content(status: StatusInfo, *, branch: str | None, window: int, hint: str = "") -> Content:
    busy = status.turn_running and status.agent_state not in ("done", "failed", "cancelled")
    label = STATE_LABELS.get(status.agent_state, status.agent_state) if busy else "ready"
    if busy and status.detail:
        label += f" {one_line(status.detail, 24)}"
    tokens = status.usage.input_tokens + status.usage.output_tokens
    percent = context_percent(status, window)
    context_style = "$text-error" if percent >= 90 else "$text-warning" if percent >= 70 else ""
    parts: list[Content | tuple[str, str] | str] = [
        ("● " if busy else "○ ", "$text-primary" if busy else "$text-muted"),
        (label, "bold" if busy else "$text-muted"),
    ]
    if hint:
        parts.extend([("  ", ""), (hint, "bold $text-warning")])
    parts += [
        (" │ ", "$text-muted"),
        (one_line(status.model or "no model", 40), "$text-secondary"),
        (" │ ", "$text-muted"),
        (f"mode: {status.permission_mode}", "$text-warning" if status.permission_mode != "default" else ""),
        (" │ ", "$text-muted"),
        (f"ctx {percent}%", context_style),
        (f"  {human_tokens(tokens)} tok", ""),
        (f"  ${status.usage.cost_usd:.4f}", ""),
    ]
    if branch:
        parts.extend([(" │ ", "$text-muted"), (f"⎇ {one_line(branch, 30)}", "$text-accent")])
    return Content.assemble(*parts)


class StatusLine(Static):
    DEFAULT_CLASSES = "status-line"

    def show(self, status: StatusInfo, *, branch: str | None, window: int, hint: str = "") -> None:
        self.update(status_content(status, branch=branch, window=window, hint=hint))
