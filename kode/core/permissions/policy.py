"""The permission decision: allow, ask or deny one tool call.

Order of precedence, first match wins:
1. a deny rule matches -> deny (in every mode, bypass included); for commands, any simple
   command, wrapped command or substitution, or for an unparseable command any crude fragment;
2. plan mode and the call edits files or runs a command -> deny;
3. a command whose text, split crudely (even inside quotes), shows a denied command that the
   real parse did not find -> ask: it is probably quoted text, but never allowed unseen;
4. bypass mode -> allow (but a command we cannot fully resolve asks when deny rules exist,
   since no deny rule can be checked against `$CMD` or an unparseable command);
5. an ask rule matches -> ask;
6. an allow rule matches -> allow (for commands: every simple command must be allowed, and
   commands that cannot be parsed or name their program at run time never are);
7. the mode's default: reads and other tools run; edits ask (run in accept-edits, inside the
   workspace); commands ask.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kode.core.permissions.commands import ARGS_SENTINEL, ShellCommand
from kode.core.permissions.fallback import crude_fragments, fallback_fragments
from kode.core.permissions.modes import PermissionMode
from kode.core.permissions.rules import Rule
from kode.core.permissions.shell import parse_shell_command

if TYPE_CHECKING:
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
        self.mode = mode
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
        return _TargetDecision(self, tool_name, kind, target).decide()

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


class _TargetDecision:
    """One file or other tool call's decision; see the module docstring for the order."""

    def __init__(self, policy: PermissionPolicy, tool_name: str, kind: ToolKind, target: str) -> None:
        self.policy = policy
        self.mode = policy.mode
        self.tool_name = tool_name
        self.kind = kind
        self.files = kind in ("read", "edit")
        self.path = _normalise_path(target) if self.files else target
        self.outside = self.files and _outside_workspace(self.path)
        self.subject = f"`{_short(self.path)}`" if self.path else tool_name

    def decide(self) -> Decision:
        if rule := self.first(self.policy.deny_rules):
            return Decision("deny", f"{self.subject} matches deny rule {rule}", str(rule))
        if self.mode is PermissionMode.PLAN and self.kind == "edit":
            return Decision("deny", f"Plan mode is read-only: {self.tool_name} would change {self.subject}.")
        if self.mode is PermissionMode.BYPASS:
            return Decision("allow", "Bypass mode allows everything no deny rule matches.")
        if rule := self.first(self.policy.ask_rules):
            return Decision("ask", f"{self.subject} matches ask rule {rule}", str(rule))
        if rule := self.first(self.policy.allow_rules, for_allow=True):
            return Decision("allow", f"{self.subject} matches allow rule {rule}", str(rule))
        return self.default()

    def default(self) -> Decision:
        if self.kind == "read":
            return Decision("allow", f"Reading files is allowed in {self.mode} mode.")
        if self.kind == "other":
            return Decision("allow", f"{self.tool_name} is allowed in {self.mode} mode.")
        if self.mode is not PermissionMode.ACCEPT_EDITS:
            return Decision("ask", f"File edits need approval in {self.mode} mode.")
        if self.outside:
            return Decision("ask", f"{self.subject} is outside the workspace.")
        return Decision("allow", "accept-edits mode allows file edits.")

    def first(self, rules: Iterable[Rule], *, for_allow: bool = False) -> Rule | None:
        return next((r for r in rules if self.matches(r, for_allow=for_allow)), None)

    def matches(self, rule: Rule, *, for_allow: bool) -> bool:
        if not rule.applies_to(self.tool_name, self.kind):
            return False
        if rule.pattern is None:
            return True
        if not self.files:
            return rule.matches_command(self.path)
        if not self.outside:
            return rule.matches_path(self.path)
        # Patterns describe the workspace: outside it they never allow, but deny and ask rules
        # see the path from every directory down.
        return not for_allow and any(rule.matches_path(tail) for tail in _path_tails(self.path))


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
        if self.commands is not None and (hit := self._hit_fragments(self.deny, anywhere=False)):
            # The parse found no denied command, but a crude split of the same text does: it is
            # probably quoted text, yet a parser mistake must not turn it into an allow.
            rule, text = hit
            return Decision(
                "ask", f"`{_short(text)}` would match deny rule {rule} if it ran as a command.", str(rule)
            )
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
        """The first rule matching the command, any sub-command or wrapped command:
        (rule, what it matched)."""
        for rule in rules:
            if rule.pattern is None or rule.literal == self.stripped:
                return rule, self.stripped
        patterned = [r for r in rules if r.pattern is not None]
        if not patterned:
            return None
        if self.commands is None:
            return self._hit_fragments(patterned, anywhere=True)
        for top in self.commands:
            for command in top.walk():
                for rule in patterned:
                    if any(rule.matches_command(text) for text in command.match_texts()):
                        return rule, command.text
        return None

    def _hit_fragments(self, rules: list[Rule], *, anywhere: bool) -> tuple[Rule, str] | None:
        """A rule matching a crude fragment of the command: from some word on (`anywhere`, for
        commands we could not parse) or as a whole."""
        patterned = [r for r in rules if r.pattern is not None]
        if not patterned:
            return None
        fragments = fallback_fragments(self.command) if anywhere else crude_fragments(self.command)
        for fragment in fragments:
            for rule in patterned:
                if rule.matches_command_suffix(fragment) if anywhere else rule.matches_command(fragment):
                    return rule, fragment.replace(ARGS_SENTINEL, "…")
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
    {"sh", "bash", "zsh", "dash", "ksh", "fish", "python", "python3", "node", "deno", "bun", "perl",
     "ruby", "php", "eval", "exec", "source", ".", "sudo", "doas", "su", "env", "xargs", "rm", "rmdir",
     "dd", "mkfs", "shred", "chmod", "chown", "kill", "pkill", "killall", "curl", "wget", "ssh", "scp",
     "rsync", "nc"}
)  # fmt: skip
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

