"""The permission decision: allow, ask or deny one tool call.

Order of precedence, first match wins:
1. a deny rule matches -> deny (in every mode, bypass included);
2. plan mode and the call edits files or runs a command -> deny;
3. bypass mode -> allow (but a command we cannot fully resolve asks when deny rules exist,
   since no deny rule can be checked against `$CMD` or an unparseable command);
4. an ask rule matches -> ask;
5. an allow rule matches -> allow (for commands: every simple command must be allowed);
6. the mode's default: reads and other tools run; edits ask (run in accept-edits); commands ask.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from kode.core.permissions.commands import ShellCommand
from kode.core.permissions.fallback import fallback_fragments
from kode.core.permissions.modes import PermissionMode
from kode.core.permissions.rules import Rule, RuleError
from kode.core.permissions.shell import parse_shell_command
from kode.tools.base import ToolKind

Action = Literal["allow", "ask", "deny"]
_KINDS: frozenset[str] = frozenset({"read", "edit", "bash", "other"})


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    """A short sentence a user or a model can act on."""
    rule: str | None = None
    """The rule(s) that decided, as written; None when the mode decided."""


class PermissionPolicy:
    """Decides tool calls from a mode and allow / ask / deny rules. Pure logic, no I/O."""

    def __init__(
        self,
        mode: PermissionMode | str = PermissionMode.DEFAULT,
        allow: Iterable[str | Rule] = (),
        ask: Iterable[str | Rule] = (),
        deny: Iterable[str | Rule] = (),
    ) -> None:
        self.mode = mode  # type: ignore[assignment]  # the setter accepts str
        self._allow = _parse_rules(allow)
        self._ask = _parse_rules(ask)
        self._deny = _parse_rules(deny)
        self._session: list[Rule] = []

    @property
    def mode(self) -> PermissionMode:
        return self._mode

    @mode.setter
    def mode(self, mode: PermissionMode | str) -> None:
        self._mode = PermissionMode(mode)

    @property
    def allow_rules(self) -> tuple[Rule, ...]:
        """Configured allow rules, then the ones added for this session."""
        return (*self._allow, *self._session)

    @property
    def ask_rules(self) -> tuple[Rule, ...]:
        return tuple(self._ask)

    @property
    def deny_rules(self) -> tuple[Rule, ...]:
        return tuple(self._deny)

    @property
    def session_rules(self) -> tuple[Rule, ...]:
        return tuple(self._session)

    def allow_for_session(self, rule: str | Rule) -> None:
        """Add an allow rule until the session ends ("Allow for this session")."""
        parsed = rule if isinstance(rule, Rule) else Rule.parse(rule)
        if parsed not in self._allow and parsed not in self._session:
            self._session.append(parsed)

    def decide(self, tool_name: str, kind: ToolKind, target: str) -> Decision:
        if kind not in _KINDS:
            raise ValueError(f"unknown tool kind {kind!r}")
        if kind == "bash":
            return _BashDecision(self, tool_name, kind, target).decide()
        return self._decide_other(tool_name, kind, target)

    @staticmethod
    def suggest_rule(tool_name: str, kind: ToolKind, target: str) -> str:
        """A rule that would allow this call (and ones like it), for "Allow for this session".

        Commands get a prefix rule (`git status -s` -> `bash(git status*)`) when they are one
        plain simple command, otherwise the exact command; files get their exact path."""
        if kind == "bash":
            return _suggest_command(target)
        name = kind if kind in ("read", "edit") else tool_name
        path = _normalise_path(target) if kind in ("read", "edit") else target
        if not path:
            return name
        if kind in ("read", "edit"):
            return f"{name}({_escape_path(path)})"
        return f"{name}({_escape_glob(path)})"

    # -- files and other tools ------------------------------------------------------------------

    def _decide_other(self, tool_name: str, kind: ToolKind, target: str) -> Decision:
        files = kind in ("read", "edit")
        path = _normalise_path(target) if files else target
        outside = files and _outside_workspace(path)
        subject = f"`{_short(path)}`" if path else tool_name

        def first(rules: Iterable[Rule], *, for_allow: bool = False) -> Rule | None:
            for rule in rules:
                if not rule.applies_to(tool_name, kind):
                    continue
                if rule.pattern is None:
                    return rule
                if not files:
                    if rule.matches_command(path):
                        return rule
                elif outside and for_allow:
                    continue  # patterns describe the workspace; outside it they never allow
                elif any(rule.matches_path(p) for p in (_path_tails(path) if outside else [path])):
                    return rule
            return None

        if rule := first(self._deny):
            return Decision("deny", f"{subject} matches deny rule {rule}", str(rule))
        if self.mode is PermissionMode.PLAN and kind == "edit":
            return Decision("deny", f"Plan mode is read-only: {tool_name} would change {subject}.")
        if self.mode is PermissionMode.BYPASS:
            return Decision("allow", "Bypass mode allows everything no deny rule matches.")
        if rule := first(self._ask):
            return Decision("ask", f"{subject} matches ask rule {rule}", str(rule))
        if rule := first(self.allow_rules, for_allow=True):
            return Decision("allow", f"{subject} matches allow rule {rule}", str(rule))
        if kind == "read":
            return Decision("allow", f"Reading files is allowed in {self.mode} mode.")
        if kind == "other":
            return Decision("allow", f"{tool_name} is allowed in {self.mode} mode.")
        if self.mode is PermissionMode.ACCEPT_EDITS:
            if outside:
                return Decision("ask", f"{subject} is outside the workspace.")
            return Decision("allow", "accept-edits mode allows file edits.")
        return Decision("ask", f"File edits need approval in {self.mode} mode.")


class _BashDecision:
    """One command's decision; see the module docstring for the order."""

    def __init__(self, policy: PermissionPolicy, tool_name: str, kind: ToolKind, command: str) -> None:
        self.mode = policy.mode
        self.command = command
        self.stripped = command.strip()
        self.deny = [r for r in policy.deny_rules if r.applies_to(tool_name, kind)]
        self.ask = [r for r in policy.ask_rules if r.applies_to(tool_name, kind)]
        self.allow = [r for r in policy.allow_rules if r.applies_to(tool_name, kind)]
        self.commands = parse_shell_command(command)

    def decide(self) -> Decision:
        if hit := self.hit(self.deny):
            rule, text = hit
            return Decision("deny", f"`{_short(text)}` matches deny rule {rule}", str(rule))
        if self.mode is PermissionMode.PLAN:
            return Decision("deny", "Plan mode is read-only: commands are not run.")
        if self.mode is PermissionMode.BYPASS:
            if self.deny and self.unresolved():
                return Decision(
                    "ask",
                    f"`{_short(self.stripped)}` cannot be checked against the deny rules "
                    "(it could not be parsed, or a command name is computed at run time).",
                )
            return Decision("allow", "Bypass mode allows everything no deny rule matches.")
        if hit := self.hit(self.ask):
            rule, text = hit
            return Decision("ask", f"`{_short(text)}` matches ask rule {rule}", str(rule))
        return self.allowed()

    def hit(self, rules: list[Rule]) -> tuple[Rule, str] | None:
        """The first rule matching the command, any sub-command or wrapped command."""
        for rule in rules:
            if rule.pattern is None or rule.literal == self.stripped:
                return rule, self.stripped
        patterned = [r for r in rules if r.pattern is not None]
        if not patterned:
            return None
        if self.commands is None:
            for fragment in fallback_fragments(self.command):
                for rule in patterned:
                    if rule.matches_command_suffix(fragment):
                        return rule, fragment.replace("\x00", "…")
            return None
        for top in self.commands:
            for command in top.walk():
                for text in command.match_texts():
                    for rule in patterned:
                        if rule.matches_command(text):
                            return rule, command.text
        return None

    def unresolved(self) -> bool:
        if self.commands is None:
            return True
        return any(c.dynamic for top in self.commands for c in top.walk())

    def allowed(self) -> Decision:
        bare = next((r for r in self.allow if r.pattern is None), None)
        if bare is not None:
            return Decision("allow", f"Every command is allowed by rule {bare}.", str(bare))
        default = f"Commands need approval in {self.mode} mode."
        if not self.allow:
            return Decision("ask", default)
        if self.commands is None:
            return Decision(
                "ask",
                f"`{_short(self.stripped)}` could not be parsed safely, so allow rules do not apply.",
            )
        if not self.unresolved():
            literal = next((r for r in self.allow if r.literal == self.stripped), None)
            if literal is not None:
                return Decision("allow", f"The command matches allow rule {literal}", str(literal))
        used: list[Rule] = []
        for top in self.commands:
            rules, problem = self._allow_one(top)
            if rules is None:
                return Decision("ask", f"{problem}.")
            used += rules
        if not any(not c.noop for c in self.commands):
            return Decision("ask", default)
        names = list(dict.fromkeys(str(r) for r in used))
        if len(self.commands) == 1 and len(names) == 1:
            text = self.commands[0].text
            return Decision("allow", f"`{_short(text)}` matches allow rule {names[0]}", names[0])
        return Decision(
            "allow", f"Every command matches an allow rule: {', '.join(names)}", ", ".join(names)
        )

    def _allow_one(self, command: ShellCommand) -> tuple[list[Rule] | None, str]:
        if command.noop:
            return [], ""
        if command.dynamic:
            return None, f"`{_short(command.text)}` runs a command whose name is only known at run time"
        used: list[Rule] = []
        if not command.transparent:
            rule = next(
                (
                    r
                    for r in self.allow
                    if r.allows_command(command.text, writes=command.writes, open_text=command.open_text)
                ),
                None,
            )
            if rule is None:
                if command.writes and any(r.matches_command(command.text) for r in self.allow):
                    return None, (
                        f"`{_short(command.text)}` writes to a file; only allow rules containing "
                        "`>` cover that"
                    )
                return None, f"`{_short(command.text)}` matches no allow rule"
            used.append(rule)
        for inner in command.inner:
            rules, problem = self._allow_one(inner)
            if rules is None:
                return None, problem
            used += rules
        return used, ""


# -- helpers ------------------------------------------------------------------------------------


def _parse_rules(rules: Iterable[str | Rule]) -> list[Rule]:
    parsed: list[Rule] = []
    for rule in rules:
        item = rule if isinstance(rule, Rule) else Rule.parse(rule)
        if item not in parsed:
            parsed.append(item)
    return parsed


def _normalise_path(target: str) -> str:
    if not target.strip():
        return ""
    path = posixpath.normpath(target.strip())
    return "" if path == "." else path


def _outside_workspace(path: str) -> bool:
    return path.startswith("/") or path == ".." or path.startswith("../")


def _path_tails(path: str) -> list[str]:
    """`/a/b/c` -> `a/b/c`, `b/c`, `c`: deny and ask rules see a path outside the workspace
    from every directory, so `read(secrets/**)` also stops `/elsewhere/secrets/key`."""
    parts = [p for p in path.split("/") if p and p != ".."]
    return ["/".join(parts[i:]) for i in range(len(parts))] or [path]


def _short(text: str, limit: int = 120) -> str:
    text = text.replace("\n", "⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SUBCOMMAND = re.compile(r"[a-z][a-z0-9_-]*\Z")
_EXACT_ONLY = frozenset(
    "sh bash zsh dash ksh fish python python3 node deno bun perl ruby php eval exec source . "
    "sudo doas su env xargs rm rmdir dd mkfs shred chmod chown kill pkill killall curl wget "
    "ssh scp rsync nc".split()
)
"""Programs for which a prefix rule would allow far more than the command at hand."""


def _suggest_command(command: str) -> str:
    commands = parse_shell_command(command)
    exact = f"bash({_escape_glob(command.strip())})" if command.strip() else "bash"
    if commands is None or len(commands) != 1:
        return exact
    only = commands[0]
    if only.dynamic or only.writes or only.noop or only.inner or only.name in _EXACT_ONLY:
        return exact
    words = only.words
    prefix = [words[0]]
    if len(words) > 1 and _SUBCOMMAND.match(words[1]):
        prefix.append(words[1])
    return f"bash({_escape_glob(' '.join(prefix))}*)"


def _escape_glob(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


def _escape_path(path: str) -> str:
    escaped = re.sub(r"([\\*?\[\]])", r"\\\1", path)
    if escaped.startswith(("!", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped

