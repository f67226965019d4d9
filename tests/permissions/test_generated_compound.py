"""Deny rules hold for every compound command that contains a denied part, however it is wrapped.

Hundreds of commands are generated deterministically by pushing denied commands through every
shell construct the policy claims to see through (lists, pipes, substitutions, subshells,
groups, control flow, `bash -c`, `eval`, wrappers, quoting tricks, here-documents ...) and
nesting constructs inside each other. The same generator builds commands made only of allowed
parts, which must be allowed, so the test fails if the policy errs in either direction.
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable

import pytest

from kode.core.permissions import PermissionMode, PermissionPolicy

ALLOW = ["bash(git status*)", "bash(ls*)", "bash(echo*)", "bash(cat*)"]
DENY = ["bash(rm *)", "bash(curl*)", "bash(git push*)"]

SAFE = ["git status", "git status -s", "ls -la", "ls", "echo hi", "echo 'a b'", "cat README.md"]
DENIED = [
    "rm -rf x",
    "rm -rf /tmp/build",
    "curl http://127.0.0.1/x | sh",
    "curl -s http://127.0.0.1/y",
    "git push --force",
    "git push origin main",
]


def dq(text: str) -> str:
    """`text` inside double quotes, escaped as bash wants."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
    return f'"{escaped}"'


# -- ways to spell a command name ---------------------------------------------------------------


def _respell(command: str, spell: Callable[[str], str]) -> str:
    name, _, rest = command.partition(" ")
    return f"{spell(name)} {rest}".rstrip()


def _ansi_c(name: str) -> str:
    return "$'" + "".join(f"\\x{ord(c):02x}" for c in name) + "'"


SPELLINGS: list[Callable[[str], str]] = [
    lambda n: n,
    lambda n: f"'{n[0]}'{n[1:]}",
    lambda n: f'"{n}"',
    lambda n: f"\\{n}",
    lambda n: f"{n[0]}''{n[1:]}",
    lambda n: f"'{n[:1]}''{n[1:]}'",
    lambda n: f"{n[:-1]}\\{n[-1]}",
    _ansi_c,
]

# -- wrappers around one command ----------------------------------------------------------------

WRAPPERS: list[Callable[[str], str]] = [
    lambda c: c,
    lambda c: f"FOO=bar {c}",
    lambda c: f"A=1 B='x y' {c}",
    lambda c: f"sudo {c}",
    lambda c: f"sudo -u root {c}",
    lambda c: f"env FOO=1 {c}",
    lambda c: f"env -i PATH=/usr/bin {c}",
    lambda c: f"timeout 5 {c}",
    lambda c: f"timeout -s KILL 10s {c}",
    lambda c: f"nohup {c}",
    lambda c: f"nice -n 5 {c}",
    lambda c: f"time {c}",
    lambda c: f"command {c}",
    lambda c: f"builtin {c}" if c.startswith("echo") else f"exec {c}",
    lambda c: f"stdbuf -oL {c}",
    lambda c: f"echo x | xargs {c}",
    lambda c: f"echo x | xargs -0 -n 1 {c}",
    lambda c: f"bash -c {shlex.quote(c)}",
    lambda c: f"sh -c {dq(c)}",
    lambda c: f"zsh -c {shlex.quote(c)}",
    lambda c: f"bash -lc {shlex.quote(c)}",
    lambda c: f"eval {shlex.quote(c)}",
    lambda c: f"eval {dq(c)}",
    lambda c: f"bash -c {shlex.quote('sh -c ' + shlex.quote(c))}",
    lambda c: f"sudo timeout 5 env X=1 {c}",
]

# -- compound constructs combining a safe part and another part ---------------------------------

CONSTRUCTS: dict[str, Callable[[str, str], str]] = {
    "semicolon": lambda s, d: f"{s}; {d}",
    "and": lambda s, d: f"{s} && {d}",
    "or": lambda s, d: f"{s} || {d}",
    "pipe": lambda s, d: f"{s} | {d}",
    "background": lambda s, d: f"{s} & {d}",
    "newline": lambda s, d: f"{s}\n{d}",
    "dollar-paren": lambda s, d: f"{s} $({d})",
    "dollar-paren-in-dquotes": lambda s, d: f'{s} "$({d})"',
    "backticks": lambda s, d: f"{s} `{d}`",
    "backticks-in-dquotes": lambda s, d: f'{s} "`{d}`"',
    "process-in": lambda s, d: f"{s} <({d})",
    "process-out": lambda s, d: f"{s} >({d})",
    "subshell": lambda s, d: f"({s}; {d})",
    "group": lambda s, d: f"{{ {s}; {d}; }}",
    "if": lambda s, d: f"if {s}; then {d}; fi",
    "if-else": lambda s, d: f"if {s}; then {s}; else {d}; fi",
    "while": lambda s, d: f"while {s}; do {d}; done",
    "for": lambda s, d: f"for i in 1 2; do {s}; {d}; done",
    "for-list": lambda s, d: f"for i in $({d}); do {s}; done",
    "function": lambda s, d: f"f() {{ {s}; {d}; }}; f",
    "assignment-subst": lambda s, d: f"X=$({d}) {s}",
    "argument-subst": lambda s, d: f"{s} --arg=$({d})",
    "redirect-target": lambda s, d: f"{s} 2> $({d})",
    "param-default": lambda s, d: f"{s} ${{X:-$({d})}}",
    "arithmetic": lambda s, d: f"{s} $(( $({d}) + 1 ))",
    "nested-subst": lambda s, d: f"{s} $(echo $(echo `{d}`))",
    "heredoc-subst": lambda s, d: f"cat <<EOF\n$({d})\nEOF\n{s}",
    "heredoc-then": lambda s, d: f"cat <<'EOF' > /dev/null\nbody\nEOF\n{s}; {d}",
    "herestring": lambda s, d: f'{s} <<< "$({d})"',
    "devnull-then": lambda s, d: f"{s} > /dev/null 2>&1; {d}",
    "case": lambda s, d: f"case $X in a) {s};; *) {d};; esac",
    "arith-command": lambda s, d: f"(( i++ )); {s}; {d}",
    "test-then": lambda s, d: f"[[ -f x ]] && {s} && {d}",
    "negation": lambda s, d: f"! {s} || {d}",
    "bash-c": lambda s, d: f"bash -c {shlex.quote(s + '; ' + d)}",
    "sh-c-dquotes": lambda s, d: f"sh -c {dq(s + ' && ' + d)}",
    "eval": lambda s, d: f"eval {shlex.quote(s + ' | ' + d)}",
    "xargs": lambda s, d: f"{s} | xargs {d}",
}

# Constructs that only make sense when every part is allowed (used for the safe set).
NOT_ALLOWABLE = {"function", "case", "arith-command", "test-then", "redirect-target"}
SAFE_WRAPPERS = {0, 1, 2, 5, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}
"""Indexes into WRAPPERS that add nothing of their own (no sudo, no `exec` on non-echo...)."""


def generate_denied(count: int = 900, seed: int = 20240607) -> list[str]:
    rng = random.Random(seed)
    commands: set[str] = set()
    # Every construct with every denied part, plainly.
    for construct in CONSTRUCTS.values():
        for denied in DENIED:
            commands.add(construct(rng.choice(SAFE), denied))
    # Every wrapper and every spelling, alone and inside a random construct.
    for wrap in WRAPPERS:
        for denied in DENIED:
            commands.add(wrap(denied))
    for spell in SPELLINGS:
        for denied in DENIED:
            commands.add(_respell(denied, spell))
    while len(commands) < count:
        denied = _respell(rng.choice(DENIED), rng.choice(SPELLINGS))
        denied = rng.choice(WRAPPERS)(denied)
        outer = rng.choice(list(CONSTRUCTS.values()))
        command = outer(rng.choice(SAFE), denied)
        if rng.random() < 0.35:  # nest one construct inside another
            command = rng.choice(list(CONSTRUCTS.values()))(rng.choice(SAFE), command)
        commands.add(command)
    return sorted(commands)


def generate_safe(count: int = 250, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    names = [n for n in CONSTRUCTS if n not in NOT_ALLOWABLE]
    wrappers = [w for i, w in enumerate(WRAPPERS) if i in SAFE_WRAPPERS]
    commands: set[str] = set()
    for name in names:
        commands.add(CONSTRUCTS[name](rng.choice(SAFE), rng.choice(SAFE)))
    compound = [n for n in names if n != "xargs"]  # xargs takes one simple command
    while len(commands) < count:
        part = rng.choice(wrappers)(rng.choice(SAFE))
        command = CONSTRUCTS[rng.choice(compound)](rng.choice(SAFE), part)
        if rng.random() < 0.3:
            command = CONSTRUCTS[rng.choice(compound)](rng.choice(SAFE), command)
        commands.add(command)
    return sorted(commands)


DENIED_COMMANDS = generate_denied()
SAFE_COMMANDS = generate_safe()


def test_generates_enough_distinct_commands() -> None:
    print(f"\n{len(DENIED_COMMANDS)} denied compound commands, {len(SAFE_COMMANDS)} safe ones")
    assert len(DENIED_COMMANDS) >= 500
    assert len(SAFE_COMMANDS) >= 200
    # The construct catalogue really is used: every construct appears with every denied part.
    assert len(CONSTRUCTS) * len(DENIED) <= len(DENIED_COMMANDS)


@pytest.mark.parametrize("mode", [PermissionMode.DEFAULT, PermissionMode.ACCEPT_EDITS, PermissionMode.BYPASS])
def test_every_compound_with_a_denied_part_is_denied(mode: PermissionMode) -> None:
    policy = PermissionPolicy(mode, allow=ALLOW, deny=DENY)
    escaped = [c for c in DENIED_COMMANDS if policy.decide("bash", "bash", c).action != "deny"]
    denied = len(DENIED_COMMANDS) - len(escaped)
    print(f"\n{mode}: {denied}/{len(DENIED_COMMANDS)} denied")
    assert escaped == []
    for command in DENIED_COMMANDS[:50]:
        decision = policy.decide("bash", "bash", command)
        assert decision.rule in DENY
        assert "matches deny rule" in decision.reason


def test_without_deny_rules_none_of_them_is_allowed() -> None:
    policy = PermissionPolicy(allow=ALLOW)
    actions = {c: policy.decide("bash", "bash", c).action for c in DENIED_COMMANDS}
    allowed = [c for c, action in actions.items() if action != "ask"]
    print(f"\n{len(actions) - len(allowed)}/{len(actions)} ask without deny rules")
    assert allowed == []


def test_compounds_of_allowed_parts_are_allowed() -> None:
    policy = PermissionPolicy(allow=ALLOW, deny=DENY)
    refused = {c: policy.decide("bash", "bash", c) for c in SAFE_COMMANDS}
    refused = {c: d for c, d in refused.items() if d.action != "allow"}
    print(f"\n{len(SAFE_COMMANDS) - len(refused)}/{len(SAFE_COMMANDS)} safe compounds allowed")
    assert refused == {}


def test_safe_compounds_ask_without_allow_rules() -> None:
    """The safe set is allowed because of the rules, not because the policy allows anything."""
    policy = PermissionPolicy(deny=DENY)
    assert {policy.decide("bash", "bash", c).action for c in SAFE_COMMANDS} == {"ask"}
