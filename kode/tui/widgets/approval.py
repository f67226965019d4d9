"""The approval modal: exactly what would run or change, and three keyboard-only answers.

1/y allow once · 2/a allow for this session (shows the rule it adds) · 3/n deny, with a reason
the model is told · Esc denies. Dismissed with the answer, or with None when the request was
resolved elsewhere (another client, a timeout, a cancel).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kode.protocol.common import ROOT_AGENT
from kode.protocol.events import ApprovalRequested
from kode.protocol.text import inert, one_line
from kode.tui.widgets.diff import diff_content


@dataclass(frozen=True, slots=True)
class ApprovalAnswer:
    decision: str
    reason: str = ""


def looks_like_diff(text: str) -> bool:
    return text.startswith(("--- ", "diff ", "@@")) or "\n@@ " in text


class ApprovalScreen(ModalScreen[ApprovalAnswer | None]):
    DEFAULT_CLASSES = "approval-screen"
    BINDINGS = [
        Binding("1,y", "choose('allow_once')", "Allow once", id="approval.allow-once"),
        Binding("2,a", "choose('allow_session')", "Allow for session", id="approval.allow-session"),
        Binding("3,n", "choose('deny')", "Deny", id="approval.deny"),
        Binding("escape", "deny_now", "Deny", id="approval.escape"),
    ]

    def __init__(self, request: ApprovalRequested) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        request = self.request
        who = "" if request.agent_id == ROOT_AGENT else f" (sub-agent {one_line(request.agent_id, 30)})"
        with Vertical(id="approval-dialog"):
            yield Static(
                Content.assemble(("Allow ", "bold"), (one_line(request.tool_name, 40), "bold $text-warning"), ("?" + who, "bold")),
                id="approval-title",
            )
            yield Static(Content(one_line(request.summary, 300)), id="approval-summary")
            details = request.details or request.summary
            body = diff_content(details) if looks_like_diff(details) else Content(inert(details))
            with VerticalScroll(id="approval-details"):
                yield Static(body, id="approval-details-text")
            rule = one_line(request.suggested_rule, 80) if request.suggested_rule else "this kind of call"
            yield OptionList(
                Option(Content.assemble(("1 ", "bold"), "Allow once"), id="allow_once"),
                Option(Content.assemble(("2 ", "bold"), "Allow for this session  ", (f"adds rule {rule}", "$text-muted")), id="allow_session"),
                Option(Content.assemble(("3 ", "bold"), "Deny  ", ("and tell the model why", "$text-muted")), id="deny"),
                id="approval-options",
            )
            reason = Input(placeholder="Why not? (told to the model; Enter to deny)", id="approval-reason")
            reason.display = False
            yield reason
            yield Static(
                Content("1/y allow once · 2/a allow for session · 3/n deny · Tab move · Enter choose · Esc deny"),
                id="approval-keys",
            )

    def on_mount(self) -> None:
        self.query_one("#approval-options", OptionList).focus()

    def action_choose(self, decision: str) -> None:
        if decision == "deny":
            reason = self.query_one("#approval-reason", Input)
            if not reason.display:
                reason.display = True
                reason.focus()
                return
            self.dismiss(ApprovalAnswer("deny", reason.value.strip()))
            return
        self.dismiss(ApprovalAnswer(decision))

    def action_deny_now(self) -> None:
        reason = self.query_one("#approval-reason", Input)
        self.dismiss(ApprovalAnswer("deny", reason.value.strip() if reason.display else ""))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.action_choose(event.option.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(ApprovalAnswer("deny", event.value.strip()))
