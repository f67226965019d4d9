"""Modes: cycling, and what each mode decides for each kind of tool when no rule matches."""

from __future__ import annotations

import pytest

from kode.core.permissions import Decision, PermissionMode, PermissionPolicy

CALLS = {
    "read": ("read_file", "read", "src/a.py"),
    "other": ("todo", "other", ""),
    "edit": ("edit_file", "edit", "src/a.py"),
    "bash": ("bash", "bash", "git status"),
}

EXPECTED = {
    PermissionMode.DEFAULT: {"read": "allow", "other": "allow", "edit": "ask", "bash": "ask"},
    PermissionMode.ACCEPT_EDITS: {"read": "allow", "other": "allow", "edit": "allow", "bash": "ask"},
    PermissionMode.PLAN: {"read": "allow", "other": "allow", "edit": "deny", "bash": "deny"},
    PermissionMode.BYPASS: {"read": "allow", "other": "allow", "edit": "allow", "bash": "allow"},
}


def test_cycling_skips_bypass() -> None:
    assert PermissionMode.DEFAULT.next() is PermissionMode.ACCEPT_EDITS
    assert PermissionMode.ACCEPT_EDITS.next() is PermissionMode.PLAN
    assert PermissionMode.PLAN.next() is PermissionMode.DEFAULT
    assert PermissionMode.BYPASS.next() is PermissionMode.DEFAULT
    mode, seen = PermissionMode.DEFAULT, []
    for _ in range(9):
        mode = mode.next()
        seen.append(mode)
    assert PermissionMode.BYPASS not in seen


def test_modes_are_strings_with_descriptions() -> None:
    assert [str(m) for m in PermissionMode] == ["default", "accept-edits", "plan", "bypass"]
    assert PermissionMode("accept-edits") is PermissionMode.ACCEPT_EDITS
    assert all(m.description for m in PermissionMode)


@pytest.mark.parametrize("mode", list(PermissionMode))
@pytest.mark.parametrize("kind", list(CALLS))
def test_mode_defaults(mode: PermissionMode, kind: str) -> None:
    decision = PermissionPolicy(mode).decide(*CALLS[kind])  # type: ignore[arg-type]
    assert decision.action == EXPECTED[mode][kind]
    assert decision.reason
    assert decision.rule is None


@pytest.mark.parametrize("kind", ["edit", "bash"])
def test_plan_mode_denies_changes_even_when_an_allow_rule_matches(kind: str) -> None:
    policy = PermissionPolicy(PermissionMode.PLAN, allow=["edit", "bash"])
    decision = policy.decide(*CALLS[kind])  # type: ignore[arg-type]
    assert decision.action == "deny"
    assert "plan mode is read-only" in decision.reason.lower()


def test_plan_mode_still_honours_deny_and_ask_rules_for_reads() -> None:
    policy = PermissionPolicy(PermissionMode.PLAN, ask=["read(notes/**)"], deny=["read(secrets/**)"])
    assert policy.decide("read_file", "read", "secrets/k").action == "deny"
    assert policy.decide("read_file", "read", "notes/n").action == "ask"
    assert policy.decide("read_file", "read", "src/a.py").action == "allow"


def test_bypass_allows_ask_rules_but_not_deny_rules() -> None:
    policy = PermissionPolicy(
        PermissionMode.BYPASS, ask=["bash(git push*)", "edit(*.lock)"], deny=["bash(rm *)", "edit(.git/**)"]
    )
    assert policy.decide("bash", "bash", "git push origin main").action == "allow"
    assert policy.decide("edit_file", "edit", "poetry.lock").action == "allow"
    assert policy.decide("bash", "bash", "ls && rm -rf build").action == "deny"
    assert policy.decide("edit_file", "edit", ".git/config").action == "deny"


def test_bypass_asks_for_commands_deny_rules_cannot_see_into() -> None:
    with_deny = PermissionPolicy(PermissionMode.BYPASS, deny=["bash(rm *)"])
    without = PermissionPolicy(PermissionMode.BYPASS)
    for command in ["$CMD -rf x", "x=rm; $x -rf y", "case $a in b) ls;; esac"]:
        assert with_deny.decide("bash", "bash", command).action == "ask", command
        assert without.decide("bash", "bash", command).action == "allow", command
    assert with_deny.decide("bash", "bash", "ls -la").action == "allow"


def test_mode_is_settable_from_strings() -> None:
    policy = PermissionPolicy("plan")
    assert policy.mode is PermissionMode.PLAN
    policy.mode = PermissionMode.ACCEPT_EDITS
    assert policy.decide("edit_file", "edit", "a.py").action == "allow"
    policy.mode = "default"  # type: ignore[assignment]
    assert policy.decide("edit_file", "edit", "a.py").action == "ask"
    with pytest.raises(ValueError):
        policy.mode = "yolo"  # type: ignore[assignment]


def test_decision_is_frozen() -> None:
    decision = Decision("allow", "fine")
    with pytest.raises(AttributeError):
        decision.action = "deny"  # type: ignore[misc]
