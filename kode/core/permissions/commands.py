"""One simple command as the permission policy sees it, and how wrapper commands are seen through.

A `ShellCommand` is built from a simple command's words after quote removal: leading
`VAR=value` assignments are dropped from the text (unless the variable can change what runs,
like `PATH` or `LD_PRELOAD`), file-writing redirections are kept, and a wrapper such as
`sudo`, `timeout 5`, `xargs` or `bash -c '...'` gets the command(s) it runs as `inner`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

ARGS_SENTINEL = "\x00"
"""Stands for the arguments `xargs` appends at run time; no real command contains a NUL."""


@dataclass(frozen=True, slots=True)
class Word:
    value: str
    """The word after quote removal; expansions are kept as written (`$HOME`, `$(date)`)."""
    dynamic: bool = False
    """The word contains an expansion, so its value is only known at run time."""


@dataclass(frozen=True, slots=True)
class ShellCommand:
    """One simple command, normalised for matching against permission rules."""

    text: str
    """Words joined by single spaces, then any file-writing redirections (`> out.txt`)."""
    words: tuple[str, ...] = ()
    dynamic: bool = False
    """The command name is computed at run time (`$CMD`, `$(echo rm)`, a glob): no allow rule
    can vouch for it."""
    writes: bool = False
    """Output is redirected to a file (not /dev/null, not an fd duplication)."""
    noop: bool = False
    """Runs nothing: only assignments or input redirections (`x=1`)."""
    transparent: bool = False
    """A wrapper that adds nothing of its own (`timeout 5`, `nice`, `bash -c`): it is allowed
    exactly when every inner command is."""
    inner: tuple[ShellCommand, ...] = ()
    """What a wrapper runs: `sudo rm x` has inner `rm x`."""
    open_text: str | None = None
    """For commands that get arguments appended at run time (under `xargs`): the text with a
    placeholder argument, which a rule must also match."""
    variants: tuple[str, ...] = ()
    """Other spellings that deny and ask rules also see: the program's basename
    (`/bin/rm x` -> `rm x`) and a brace-expanded name (`{rm,-rf,x}` -> `rm -rf x`)."""

    @property
    def name(self) -> str:
        return self.words[0] if self.words else ""

    def walk(self) -> Iterator[ShellCommand]:
        """This command and, depth first, every command it wraps."""
        yield self
        for command in self.inner:
            yield from command.walk()

    def match_texts(self) -> Iterator[str]:
        """Every text of this command (not its inner ones) a deny or ask rule is checked against."""
        yield self.text
        if self.open_text is not None:
            yield self.open_text
        yield from self.variants


Reparse = Callable[[str, int], "list[ShellCommand] | None"]
"""Parses a nested command string (`bash -c '...'`, `eval ...`) at a given nesting depth."""


class _Unparseable(Exception):
    """A nested command string could not be parsed; the whole command is then unparseable."""


def build_command(
    assignments: Sequence[Word],
    words: Sequence[Word],
    redirects: Sequence[str],
    writes: bool,
    reparse: Reparse,
    depth: int,
) -> ShellCommand | None:
    """Normalise one simple command; None when a nested command string cannot be parsed."""
    builder = _Builder(" ".join(redirects), writes, reparse, depth)
    try:
        return builder.words([*assignments, *words])
    except _Unparseable:
        return None


def inherit_redirects(command: ShellCommand, suffix: str, writes: bool) -> ShellCommand:
    """Apply an enclosing redirection (`{ a; b; } > out`, `bash -c '...' > out`) to a command."""
    if not suffix and not writes:
        return command
    return replace(
        command,
        text=_join([command.text], suffix),
        open_text=None if command.open_text is None else _join([command.open_text], suffix),
        variants=tuple(_join([v], suffix) for v in command.variants),
        writes=command.writes or writes,
        noop=command.noop and not writes,
        inner=tuple(inherit_redirects(c, suffix, writes) for c in command.inner),
    )


# -- environment assignments --------------------------------------------------------------------

ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=(.*)\Z", re.DOTALL)
_RISKY_VARIABLE = re.compile(
    r"(LD_|DYLD_|GIT_|XDG_|BASH_FUNC_)\w*|PATH|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS4|IFS"
    r"|PROMPT_COMMAND|HOME|PAGER|MANPAGER|EDITOR|VISUAL|LESSOPEN|LESSCLOSE|NODE_OPTIONS"
    r"|PYTHONPATH|PYTHONHOME|PYTHONSTARTUP|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB"
    r"|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|SSH_ASKPASS|SUDO_ASKPASS\Z"
)
_PAGERS = frozenset({"PAGER", "GIT_PAGER", "MANPAGER"})
_HARMLESS_PAGERS = frozenset({"", "cat", "less", "more"})


def is_risky_assignment(assignment: str) -> bool:
    """Whether `NAME=value` can change which code a following command runs."""
    match = ASSIGNMENT.match(assignment)
    if match is None:
        return False
    name, value = match.group(1), match.group(3)
    if name in _PAGERS and value in _HARMLESS_PAGERS:
        return False
    return _RISKY_VARIABLE.fullmatch(name) is not None


# -- the builder --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Unwrap:
    inner: list[ShellCommand]
    transparent: bool


class _Builder:
    def __init__(self, suffix: str, writes: bool, reparse: Reparse, depth: int) -> None:
        self.suffix = suffix
        self.writes = writes
        self.reparse = reparse
        self.depth = depth

    def words(self, words: Sequence[Word], *, extra_args: bool = False) -> ShellCommand:
        """A simple command from its words; leading `NAME=value` words are assignments (also
        after a wrapper: `time A=1 rm x` runs `rm x`)."""
        i = 0
        while i < len(words) and ASSIGNMENT.match(words[i].value):
            i += 1
        assignments = [w.value for w in words[:i]]
        risky = [a for a in assignments if is_risky_assignment(a)]
        if i == len(words):
            text = _join(assignments, self.suffix)
            return ShellCommand(text, writes=self.writes, noop=not risky and not self.writes)
        command = self.program(words[i:], extra_args=extra_args)
        if not risky:
            return command
        # `PATH=/tmp/x git status` is not `git status`: the prefix must be allowed explicitly.
        return ShellCommand(
            " ".join([*risky, command.text]), (*risky, *command.words), writes=self.writes, inner=(command,)
        )

    def program(self, words: Sequence[Word], *, extra_args: bool) -> ShellCommand:
        values = [w.value for w in words]
        name = words[0]
        expanded = _expand_braces(name.value)
        variants: list[str] = []
        base = posixpath.basename(name.value)
        if base and base != name.value:
            variants.append(_join([base, *values[1:]], self.suffix))
        if expanded is not None:
            variants.append(_join([*expanded, *values[1:]], self.suffix))
        command = ShellCommand(
            _join(values, self.suffix),
            tuple(values),
            dynamic=name.dynamic or expanded is not None or any(c in name.value for c in "*?["),
            writes=self.writes,
            open_text=_join([*values, ARGS_SENTINEL], self.suffix) if extra_args else None,
            variants=tuple(variants),
        )
        handler = None if command.dynamic else _WRAPPERS.get(base or name.value)
        unwrap = handler(self, list(words[1:])) if handler else None
        if unwrap is None:
            return command
        return replace(command, transparent=unwrap.transparent, inner=tuple(unwrap.inner))

    def string(self, text: str) -> list[ShellCommand]:
        parsed = self.reparse(text, self.depth + 1)
        if parsed is None:
            raise _Unparseable(text)
        return [inherit_redirects(c, self.suffix, self.writes) for c in parsed]


def _join(parts: Sequence[str], suffix: str) -> str:
    text = " ".join(parts)
    return f"{text} {suffix}" if text and suffix else text or suffix


_BRACES = re.compile(r"(.*?)\{([^{}]*,[^{}]*)\}(.*)\Z", re.DOTALL)


def _expand_braces(word: str) -> list[str] | None:
    """One level of brace expansion (`{rm,-rf,x}`, `r{m,}`); None when there is none."""
    match = _BRACES.match(word)
    if match is None:
        return None
    prefix, body, suffix = match.groups()
    return [f"{prefix}{alternative}{suffix}" for alternative in body.split(",")]


# -- wrappers -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Options:
    end: int
    """Index of the first argument after the options."""
    flags: set[str]
    """Short option letters and long option names seen."""


def _options(args: Sequence[Word], takes_value: str = "", long_values: frozenset[str] = frozenset()) -> _Options:
    """Skip getopt-style options; stops at `--` or at the first argument not starting with `-`."""
    flags: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i].value
        if arg == "--":
            return _Options(i + 1, flags)
        if not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("--"):
            name = arg.partition("=")[0]
            flags.add(name)
            i += 2 if name in long_values and "=" not in arg else 1
            continue
        for k, letter in enumerate(arg[1:]):
            flags.add(letter)
            if letter in takes_value:
                if k == len(arg) - 2:
                    i += 1  # the value is the next argument
                break  # the rest of this argument is the value
        i += 1
    return _Options(i, flags)


def _skip_assignments(args: Sequence[Word], i: int) -> tuple[int, list[str]]:
    found: list[str] = []
    while i < len(args) and ASSIGNMENT.match(args[i].value):
        found.append(args[i].value)
        i += 1
    return i, found


def _run_rest(b: _Builder, args: Sequence[Word], i: int, *, transparent: bool) -> _Unwrap | None:
    if i >= len(args):
        return None
    return _Unwrap([b.words(args[i:])], transparent)


def _sudo(b: _Builder, args: list[Word]) -> _Unwrap | None:
    opts = _options(
        args,
        "ughprtCDTU",
        frozenset({"--user", "--group", "--host", "--prompt", "--role", "--type", "--close-from",
                   "--chdir", "--command-timeout", "--other-user"}),
    )  # fmt: skip
    if opts.flags & {"e", "l", "--edit", "--list"}:
        return None  # edits files or lists privileges; runs no command of ours
    i, _ = _skip_assignments(args, opts.end)
    return _run_rest(b, args, i, transparent=False)


def _doas(b: _Builder, args: list[Word]) -> _Unwrap | None:
    return _run_rest(b, args, _options(args, "uC").end, transparent=False)


def _su(b: _Builder, args: list[Word]) -> _Unwrap | None:
    for i, word in enumerate(args):
        arg = word.value
        if arg in ("-c", "--command") and i + 1 < len(args):
            return _Unwrap(b.string(args[i + 1].value), False)
        if arg.startswith("--command="):
            return _Unwrap(b.string(arg.partition("=")[2]), False)
    return None


def _env(b: _Builder, args: list[Word]) -> _Unwrap | None:
    i = 0
    while i < len(args):
        arg = args[i].value
        if arg == "--":
            i += 1
            break
        if arg in ("-S", "--split-string") or arg.startswith(("-S", "--split-string=")):
            # `env -S 'cmd args'` splits its argument into a command line.
            rest = [w.value for w in args[i + 1 :]]
            if arg in ("-S", "--split-string"):
                first = []
            else:
                first = [arg.partition("=")[2] if arg.startswith("--") else arg[2:]]
            return _Unwrap(b.string(" ".join(first + rest)), False)
        if arg in ("-u", "-C", "--unset", "--chdir"):
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            break
    i, assignments = _skip_assignments(args, i)
    risky = any(is_risky_assignment(a) for a in assignments)
    return _run_rest(b, args, i, transparent=not risky)


def _plain(takes_value: str = "", long_values: frozenset[str] = frozenset(), skip: int = 0) -> Callable[
    [_Builder, list[Word]], _Unwrap | None
]:
    """A transparent wrapper: options, then `skip` positional arguments, then the command."""

    def handler(b: _Builder, args: list[Word]) -> _Unwrap | None:
        return _run_rest(b, args, _options(args, takes_value, long_values).end + skip, transparent=True)

    return handler


def _time(b: _Builder, args: list[Word]) -> _Unwrap | None:
    opts = _options(args, "fo", frozenset({"--format", "--output"}))
    writes_report = bool(opts.flags & {"o", "--output"})  # GNU time -o FILE writes a file
    return _run_rest(b, args, opts.end, transparent=not writes_report)


def _command(b: _Builder, args: list[Word]) -> _Unwrap | None:
    opts = _options(args)
    if opts.flags & {"v", "V"}:
        return None  # `command -v git` only looks a name up
    return _run_rest(b, args, opts.end, transparent=True)


def _ionice(b: _Builder, args: list[Word]) -> _Unwrap | None:
    opts = _options(args, "cnpPu", frozenset({"--class", "--classdata", "--pid", "--pgid", "--uid"}))
    if opts.flags & {"p", "P", "u", "--pid", "--pgid", "--uid"}:
        return None  # changes running processes; runs nothing
    return _run_rest(b, args, opts.end, transparent=True)


def _xargs(b: _Builder, args: list[Word]) -> _Unwrap | None:
    opts = _options(
        args,
        "adEILnPs",
        frozenset({"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
                   "--process-slot-var"}),
    )  # fmt: skip
    rest = args[opts.end :] or [Word("echo")]
    return _Unwrap([b.words(rest, extra_args=True)], True)


_SHELL_OPTION_VALUES = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def _shell(b: _Builder, args: list[Word]) -> _Unwrap | None:
    has_c = False
    i = 0
    while i < len(args):
        arg = args[i].value
        if arg in ("--", "-"):
            i += 1
            break
        if arg in _SHELL_OPTION_VALUES:
            i += 2
        elif arg.startswith("--"):
            i += 1
        elif len(arg) > 1 and arg[0] in "-+":
            has_c = has_c or (arg[0] == "-" and "c" in arg[1:])
            i += 1
        else:
            break
    if not has_c or i >= len(args):
        return None  # runs a script file or reads commands from stdin: nothing we can see
    return _Unwrap(b.string(args[i].value), True)


def _eval(b: _Builder, args: list[Word]) -> _Unwrap | None:
    if not args:
        return None
    return _Unwrap(b.string(" ".join(w.value for w in args)), True)


def _watch(b: _Builder, args: list[Word]) -> _Unwrap | None:
    opts = _options(args, "nq", frozenset({"--interval", "--equexit"}))
    if opts.end >= len(args):
        return None
    if opts.flags & {"x", "--exec"}:
        return _run_rest(b, args, opts.end, transparent=True)
    return _Unwrap(b.string(" ".join(w.value for w in args[opts.end :])), True)


_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def _find(b: _Builder, args: list[Word]) -> _Unwrap | None:
    inner: list[ShellCommand] = []
    i = 0
    while i < len(args):
        if args[i].value in _FIND_EXEC:
            j = i + 1
            while j < len(args) and args[j].value not in (";", "+"):
                j += 1
            if j > i + 1:
                inner.append(b.words(args[i + 1 : j]))
            i = j
        i += 1
    return _Unwrap(inner, False) if inner else None


_Handler = Callable[[_Builder, list[Word]], "_Unwrap | None"]

_WRAPPERS: dict[str, _Handler] = {
    "sudo": _sudo,
    "doas": _doas,
    "su": _su,
    "env": _env,
    "nohup": _plain(),
    "time": _time,
    "timeout": _plain("sk", frozenset({"--signal", "--kill-after"}), skip=1),
    "nice": _plain("n", frozenset({"--adjustment"})),
    "ionice": _ionice,
    "setsid": _plain(),
    "stdbuf": _plain("ioe", frozenset({"--input", "--output", "--error"})),
    "command": _command,
    "builtin": _plain(),
    "exec": _plain("a"),
    "xargs": _xargs,
    "eval": _eval,
    "watch": _watch,
    "find": _find,
    **{shell: _shell for shell in ("sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish")},
}
"""Commands that run another command, by program basename."""
