"""Checking and ranking sub-agent worktrees for best-of-N (the helper half of `worktrees.py`).

Best-of-N runs N children in their own worktrees, runs the project's check command (its tests)
in each and keeps the best. Everything here goes through the Environment (`env.run`) so it
works unchanged on a remote workspace; the ranking itself is a pure function.

Import these from `kode.core.worktrees`, which re-exports them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from shlex import quote
from typing import TYPE_CHECKING, NamedTuple

from kode.runtime.environment import Environment, EnvironmentError_

if TYPE_CHECKING:
    from kode.core.worktrees import Worktree

NO_CHECK_MESSAGE = "no check command found; set [agent] check_command"
TAIL_LINES = 40
_OUTPUT_LIMIT = 64_000
_PYTEST_NO_TESTS = 5
"""pytest's exit code for "no tests were collected": not a failure of the child's work."""
_NPM_DEFAULT_TEST = "no test specified"
"""`npm init` writes a test script that only fails with this text; it is not a test suite."""


class DiffStat(NamedTuple):
    """Size of a diff: files touched and text lines added and removed (binary files count as files)."""

    files: int
    added: int
    removed: int

    @property
    def lines(self) -> int:
        return self.added + self.removed


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of a check command in one worktree."""

    passed: bool | None
    """None when nothing could be checked (no command found, or no tests collected)."""
    exit_code: int | None
    """None when no command ran, or it was killed by the timeout."""
    duration: float
    """Seconds the command ran."""
    output: str
    """The last ~40 lines of output, or why nothing ran."""
    command: str | None = None
    """The command that ran (the detected one when none was given)."""
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """One child's result as `rank` sees it."""

    child_id: str
    passed: bool | None
    stat: DiffStat
    cost: float = 0.0


def rank(results: Iterable[Candidate]) -> list[Candidate]:
    """Best first: passed, then unknown (None), then failed; within a group the smaller diff
    (fewer changed lines) first, then the lower cost; ties keep their input order.

    A child that changed nothing sorts after every child that changed something in its group:
    an empty diff that "passes" is what a child that gave up looks like, not the best answer.
    """
    group = {True: 0, None: 1, False: 2}

    def key(c: Candidate) -> tuple[int, int, int, float]:
        return (group[c.passed], 1 if c.stat.lines == 0 and c.stat.files == 0 else 0, c.stat.lines, c.cost)

    return sorted(results, key=key)


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


async def detect_check_command(env: Environment, wt: Worktree) -> str | None:
    """The project's test command for `wt`, from the files in its working directory, or None.

    Order: Python config (pytest.ini, pyproject.toml, setup.cfg, tox.ini, setup.py) → pytest;
    package.json with a real `test` script → npm; go.mod → go test; Cargo.toml → cargo test;
    a Makefile with a `test:` target → make test; a tests/ directory holding .py files → pytest.

    For pytest the interpreter is the workspace's `.venv`/`venv` one when there is one (the
    worktree has no venv: it is ignored, so never copied), else `python`, else `python3`. The
    command keeps the worktree clean (no bytecode, no .pytest_cache) so a diff taken after the
    check is not polluted, and puts the worktree's `src/` first on PYTHONPATH so a src-layout
    project installed in editable mode tests the worktree's code, not the workspace's.
    """
    venvs = []
    for base in dict.fromkeys([wt.workspace_root, wt.repo]):
        venvs += [f"{base}/.venv/bin/python", f"{base}/venv/bin/python"]
    script = "\n".join(
        [
            f"cd -- {quote(wt.workdir)} || exit 3",
            "for f in pytest.ini pyproject.toml setup.cfg tox.ini setup.py go.mod Cargo.toml; do",
            '  [ -f "$f" ] && printf \'file:%s\\n\' "$f"',
            "done",
            "for m in GNUmakefile makefile Makefile; do",
            '  [ -f "$m" ] && grep -qE \'^test[[:space:]]*:\' "$m" && { echo make:test; break; }',
            "done",
            "[ -d tests ] && [ -n \"$(find tests -name '*.py' -print 2>/dev/null | head -n 1)\" ] && echo dir:tests",
            "[ -d src ] && echo dir:src",
            f"for py in {' '.join(quote(v) for v in venvs)}; do",
            '  [ -x "$py" ] && { printf \'python:%s\\n\' "$py"; break; }',
            "done",
            "if command -v python >/dev/null 2>&1; then echo python:python; else echo python:python3; fi",
            "[ -f package.json ] && { echo package.json:; head -c 1000000 package.json; }",
            "exit 0",
        ]
    )
    try:
        result = await env.run(script, timeout=30, output_limit=1_100_000)
    except EnvironmentError_:
        return None
    if result.exit_code != 0:
        return None
    head, _, package_json = result.output.partition("package.json:\n")
    found = set(head.split("\n"))
    python = next((line[len("python:") :] for line in head.split("\n") if line.startswith("python:")), "python3")
    pytest = _pytest_command(python, src="dir:src" in found)
    if found & {f"file:{f}" for f in ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "setup.py")}:
        return pytest
    if package_json and _has_npm_test(package_json):
        return "npm test --silent"
    if "file:go.mod" in found:
        return "go test ./..."
    if "file:Cargo.toml" in found:
        return "cargo test"
    if "make:test" in found:
        return "make test"
    if "dir:tests" in found:
        return pytest
    return None


def _pytest_command(python: str, *, src: bool) -> str:
    env = "PYTHONDONTWRITEBYTECODE=1"
    if src:
        env += ' PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"'
    return f"{env} {quote(python)} -m pytest -q -p no:cacheprovider"


def _has_npm_test(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    scripts = data.get("scripts") if isinstance(data, dict) else None
    test = scripts.get("test") if isinstance(scripts, dict) else None
    return isinstance(test, str) and bool(test.strip()) and _NPM_DEFAULT_TEST not in test


async def run_check(env: Environment, wt: Worktree, command: str | None, timeout: float) -> CheckResult:
    """Run `command` (a shell string; detected when None) in the worktree's working directory.

    The command runs via `cd <workdir> && …` rather than `cwd=`, because the worktree may lie
    outside the workspace root that `env.run` confines `cwd` to. Take the child's diff before
    the check: a check may leave build output behind that is not ignored.
    """
    detected = command is None
    if command is None:
        command = await detect_check_command(env, wt)
        if command is None:
            return CheckResult(passed=None, exit_code=None, duration=0.0, output=NO_CHECK_MESSAGE)
    script = f"cd -- {quote(wt.workdir)} || exit 125\n{command}"
    started = time.monotonic()
    try:
        result = await env.run(script, timeout=timeout, output_limit=_OUTPUT_LIMIT)
    except EnvironmentError_ as exc:
        return CheckResult(None, None, time.monotonic() - started, f"could not run the check: {exc}", command)
    duration = time.monotonic() - started
    output = _tail(result.output)
    if result.timed_out:
        note = f"[check timed out after {timeout:g} s; raise the timeout or make the check faster]"
        return CheckResult(False, None, duration, f"{output}\n{note}".lstrip("\n"), command, timed_out=True)
    passed: bool | None = result.exit_code == 0
    if detected and "pytest" in command and result.exit_code == _PYTEST_NO_TESTS:
        passed = None  # pytest found no tests: nothing was checked
    return CheckResult(passed, result.exit_code, duration, output, command)
