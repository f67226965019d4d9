"""The permission policy: may this tool call run, must the user be asked, or is it denied?

Pure logic, no I/O and no UI. `PermissionPolicy.decide(tool_name, kind, target)` answers with a
`Decision`; rules come from config as text (`bash(git status*)`, `edit(src/**)`, ...) and a
`RuleError` explains any that cannot be parsed. `split_shell_command` shows how a command line
is seen: every simple command bash would run, normalised.
"""

from kode.core.permissions.commands import ShellCommand
from kode.core.permissions.modes import PermissionMode
from kode.core.permissions.policy import Action, Decision, PermissionPolicy
from kode.core.permissions.rules import Rule, RuleError
from kode.core.permissions.shell import parse_shell_command, split_shell_command

__all__ = [
    "Action",
    "Decision",
    "PermissionMode",
    "PermissionPolicy",
    "Rule",
    "RuleError",
    "ShellCommand",
    "parse_shell_command",
    "split_shell_command",
]
