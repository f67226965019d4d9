"""grep: search file contents by regular expression.

ripgrep does the work when the Environment has it (`env.which("rg")`); otherwise a pure-Python
search over `walk_files` gives the same answer. Both produce a list of `Hit`s that one formatter
turns into ripgrep's familiar `path:line:text` / `path-line-text` / `--` layout, so the model sees
identical output either way. ripgrep is told to behave like `walk_files`: hidden files included,
`.git` skipped, .gitignore honoured even outside a git repository, no other ignore files, symlinks
not followed, results sorted by path.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from kode.runtime.environment import Environment, EnvironmentError_
from kode.runtime.paths import IgnoreRules, path_sort_key
from kode.tools._common import (
    cap_lines,
    did_you_mean,
    env_errors,
    rel_path,
    target_path,
)
from kode.tools.base import Tool, ToolContext, ToolError, ToolResult
from kode.tools.listing import compile_glob, ignore_rules_for, read_gitignore

GREP_TIMEOUT = 60.0
MAX_LINE_CHARS = 1000
RG_CAPTURE_LIMIT = 16 * 1024 * 1024
"""Characters of ripgrep output kept; results come sorted, so the head is what we show anyway."""

_RG_RECORD = re.compile(r"(\d+)([:-])(.*)\Z", re.DOTALL)
_RG_BINARY = re.compile(r"(.*?): (?:binary file matches \(|WARNING: stopped searching binary file)")


@dataclass(frozen=True, slots=True)
class Hit:
    path: str
    """Workspace-relative."""
    line: int
    match: bool
    """False for a context line."""
    text: str


class GrepParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(
        min_length=1,
        description="Regular expression to search for, matched against each line (ripgrep / Rust regex syntax, "
        "which for common patterns is the same as Python's). Escape regex characters to search for them literally, "
        r"e.g. 'foo\(' or 'a\.b'.",
    )
    path: str = Field(
        ".", description="File or directory to search, relative to the workspace root. Default: the whole workspace."
    )
    glob: str | None = Field(
        None,
        description="Only search files matching this glob, gitignore-style: without a '/' it matches file names at "
        "any depth ('*.py', '*.{ts,tsx}'); with a '/' it matches the workspace-relative path ('src/**/*.rs'). "
        "Prefix with '!' to exclude instead ('!*.min.js').",
    )
    context: int = Field(0, ge=0, le=20, description="Lines of context to show before and after each match.")
    ignore_case: bool = Field(False, description="Match case-insensitively.")
    max_results: int | None = Field(
        None, ge=1, le=5000, description="Maximum number of matching lines to return (default 200)."
    )


class Grep(Tool[GrepParams]):
    name = "grep"
    description = (
        "Search file contents with a regular expression. Returns matching lines as `path:line:text` (context lines "
        "as `path-line-text`, groups separated by `--`), sorted by path. Files ignored by .gitignore and binary "
        "files are skipped. Use glob to find files by name."
    )
    Params = GrepParams
    kind = "read"

    def __init__(self, *, use_ripgrep: bool = True) -> None:
        self.use_ripgrep = use_ripgrep
        """False forces the pure-Python search even when ripgrep is available."""

    def permission_target(self, params: GrepParams) -> str:
        return target_path(params.path)

    def summary(self, params: GrepParams) -> str:
        path = target_path(params.path)
        where = "" if path == "." else f" in {path}"
        return f"/{params.pattern}/{where}" + (f" ({params.glob})" if params.glob else "")

    async def run(self, params: GrepParams, ctx: ToolContext) -> ToolResult:
        env = ctx.env
        glob = _check_glob(params.glob, env.root) if params.glob else None
        with env_errors():
            real = await env.resolve(params.path)
            st = await env.stat(real)
        rel = rel_path(env, real)
        if st is None:
            raise ToolError(f"Path not found: {rel}." + await did_you_mean(env, rel))
        if not st.is_dir:
            # ripgrep would search a binary file named explicitly; binary files are skipped everywhere.
            with env_errors():
                if b"\x00" in await env.read_bytes(real):
                    return ToolResult(output=f"{rel} is a binary file; grep only searches text files.")
        search = _Search(params.pattern, rel, st.is_dir, glob, params.context, params.ignore_case,
                         params.max_results or ctx.settings.grep_max_results)
        rg = env.which("rg") if self.use_ripgrep else None
        outcome = await search.with_ripgrep(ctx, rg) if rg else None
        if outcome is None:
            outcome = await search.in_python(ctx)
        return _result(search, outcome, ctx.settings.output_limit, params.pattern)


@dataclass(slots=True)
class _Outcome:
    hits: list[Hit]
    more: bool = False
    """More matches exist than `limit`."""
    warnings: list[str] | None = None


@dataclass(frozen=True, slots=True)
class _Search:
    pattern: str
    rel: str
    is_dir: bool
    glob: str | None
    context: int
    ignore_case: bool
    limit: int

    async def with_ripgrep(self, ctx: ToolContext, rg: str) -> _Outcome | None:
        """Search with ripgrep; None if it rejected a regex that Python accepts (look-around, ...)."""
        argv = [
            rg, "--no-heading", "--line-number", "--color", "never", "--with-filename", "--null", "--no-config",
            "--hidden", "--no-require-git", "--no-ignore-dot", "--no-ignore-exclude", "--no-ignore-global",
            "--sort", "path", "--max-count", str(self.limit + 1),
        ]  # fmt: skip
        if self.ignore_case:
            argv.append("--ignore-case")
        if self.context:
            argv += ["--context", str(self.context)]
        if self.glob:
            argv += ["--glob", self.glob]
        argv += ["--glob", "!.git"]  # after the user's glob: later globs win
        argv += ["--regexp", self.pattern, "--", self.rel]
        chunks: list[str] = []
        captured = 0

        def collect(chunk: str) -> None:
            nonlocal captured
            if captured < RG_CAPTURE_LIMIT:
                chunks.append(chunk)
                captured += len(chunk)

        with env_errors():
            result = await ctx.env.run(argv, timeout=GREP_TIMEOUT, output_limit=4096, on_output=collect)
        text = "".join(chunks)
        if captured >= RG_CAPTURE_LIMIT:
            text = text[: text.rfind("\n") + 1]
        hits, messages = _parse_rg(text)
        if result.exit_code == 2 and not hits:
            detail = "\n".join(messages).strip()
            if "regex" in detail:
                try:
                    re.compile(self.pattern)
                except re.error:
                    raise ToolError(f"Invalid regular expression {self.pattern!r}:\n{detail}") from None
                return None
            raise ToolError(f"grep failed: {detail or 'ripgrep exited with status 2'}")
        if self.glob and not self.glob.startswith("!") and self.is_dir:
            # ripgrep lets a --glob match override .gitignore; walk_files (and so the fallback,
            # glob and list) never shows ignored files. Keep the tools consistent.
            ignored = _Gitignored(ctx.env, self.rel)
            hits = [hit for hit in hits if not await ignored(hit.path)]
        hits, more = _cap(hits, self.limit)
        warnings = messages[:5] if messages else None
        if result.timed_out:
            warnings = [*(warnings or []), f"the search timed out after {GREP_TIMEOUT:g}s; results are incomplete"]
        return _Outcome(hits, more or captured >= RG_CAPTURE_LIMIT, warnings)

    async def in_python(self, ctx: ToolContext) -> _Outcome:
        try:
            regex = re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)
        except re.error as exc:
            raise ToolError(f"Invalid regular expression {self.pattern!r}: {exc}.") from None
        with env_errors():
            files = await ctx.env.walk_files(self.rel)
        if self.is_dir and self.glob:
            keep = _GlobFilter(self.glob, self.rel)
            files = [f for f in files if keep(f)]
        files.sort(key=path_sort_key)
        hits: list[Hit] = []
        matches = 0
        for path in files:
            try:
                data = await ctx.env.read_bytes(path)
            except EnvironmentError_:
                continue
            if b"\x00" in data:
                continue  # binary
            found = _search_lines(regex, path, data.decode("utf-8", errors="replace"), self.context, self.limit + 1)
            hits.extend(found)
            matches += sum(1 for h in found if h.match)
            if matches > self.limit:
                break
        hits, more = _cap(hits, self.limit)
        return _Outcome(hits, more)


def _search_lines(regex: re.Pattern[str], path: str, text: str, context: int, max_count: int) -> list[Hit]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    matched: list[int] = []
    for index, line in enumerate(lines):
        if regex.search(line):
            matched.append(index)
            if len(matched) >= max_count:
                break
    if not matched:
        return []
    shown: dict[int, bool] = {}
    for index in matched:
        for near in range(max(0, index - context), min(len(lines), index + context + 1)):
            shown.setdefault(near, False)
        shown[index] = True
    return [Hit(path, i + 1, shown[i], lines[i].removesuffix("\r")) for i in sorted(shown)]


def _parse_rg(text: str) -> tuple[list[Hit], list[str]]:
    """Hits and other messages (errors, warnings) from `rg --null` output. Files ripgrep found to
    be binary are dropped entirely, as the fallback skips any file containing a NUL byte."""
    hits: list[Hit] = []
    messages: list[str] = []
    binary: set[str] = set()
    for line in text.split("\n"):
        if "\x00" in line:
            path, rest = line.split("\x00", 1)
            record = _RG_RECORD.match(rest)
            if record is not None:
                hits.append(Hit(_strip_dot(path), int(record[1]), record[2] == ":", record[3].removesuffix("\r")))
                continue
        if not line or line == "--":
            continue
        late_binary = _RG_BINARY.match(line)
        if late_binary is not None:
            binary.add(_strip_dot(late_binary[1]))
            continue
        messages.append(line.removeprefix("rg: "))
    if binary:
        hits = [hit for hit in hits if hit.path not in binary]
    return hits, messages


def _strip_dot(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _cap(hits: list[Hit], limit: int) -> tuple[list[Hit], bool]:
    """Keep everything up to the `limit`-th match; if more matches follow, cut right after it."""
    matches = 0
    for index, hit in enumerate(hits):
        if hit.match:
            matches += 1
            if matches > limit:
                last = max(i for i in range(index) if hits[i].match)
                return hits[: last + 1], True
    return hits, False


def _format(hits: list[Hit], context: int) -> list[str]:
    lines: list[str] = []
    previous: Hit | None = None
    for hit in hits:
        if context and previous is not None and (hit.path != previous.path or hit.line != previous.line + 1):
            lines.append("--")
        sep = ":" if hit.match else "-"
        text = hit.text
        if len(text) > MAX_LINE_CHARS:
            text = f"{text[:MAX_LINE_CHARS]}... [line cut: {len(hit.text)} characters in total]"
        lines.append(f"{hit.path}{sep}{hit.line}{sep}{text}")
        previous = hit
    return lines


def _result(search: _Search, outcome: _Outcome, output_limit: int, pattern: str) -> ToolResult:
    if search.rel == ".":
        where = "the workspace"
    else:
        where = f"{search.rel}/" if search.is_dir else search.rel
    if not outcome.hits:
        scope = f" in files matching {search.glob!r}" if search.glob else ""
        output = f"No matches for {pattern!r} in {where}{scope}."
        if outcome.warnings:
            output += "\n[" + "; ".join(outcome.warnings) + "]"
        return ToolResult(output=output)
    lines, dropped = cap_lines(_format(outcome.hits, search.context), output_limit)
    matches = sum(1 for hit in outcome.hits if hit.match)
    notes: list[str] = []
    if outcome.more:
        notes.append(
            f"Showing the first {matches} matching lines; there are more. Narrow the pattern, path or glob, "
            "or raise max_results."
        )
    if dropped:
        notes.append(f"{dropped} more output lines were cut to fit the output limit; narrow the search.")
    if outcome.warnings:
        notes.append("Warnings: " + "; ".join(outcome.warnings))
    output = "\n".join(lines)
    if notes:
        output += "\n\n[" + " ".join(notes) + "]"
    files = len({hit.path for hit in outcome.hits})
    return ToolResult(output=output, display={"matches": matches, "files": files})


def _check_glob(glob: str, root: str) -> str:
    """A grep glob is a filter, not a path; still refuse ones that point outside, to say so clearly."""
    glob = glob.strip()
    negated = glob.startswith("!")
    body = glob[1:] if negated else glob
    if not body or "\x00" in body:
        raise ToolError(f"Invalid glob {glob!r}: give a file pattern such as '*.py' or 'src/**/*.ts'.")
    if body.startswith(root.rstrip("/") + "/"):
        body = "/" + body[len(root.rstrip("/")) + 1 :]
    if ".." in body.split("/") or body.startswith("~"):
        raise ToolError(
            f"Access denied: glob {glob!r} points outside the workspace; globs filter files inside the search path. "
            "Use the `path` parameter to choose a directory inside the workspace."
        )
    return ("!" if negated else "") + body


class _Gitignored:
    """Whether a file below the search directory `start` is hidden by .gitignore, decided exactly
    as `walk_files(start)` decides it; .gitignore files are read once per directory."""

    def __init__(self, env: Environment, start: str) -> None:
        self.env = env
        self.start = start
        self._rules: dict[str, IgnoreRules | None] = {}

    async def _rules_for(self, dir_rel: str) -> IgnoreRules | None:
        """Rules in effect inside `dir_rel`, or None if the directory itself is ignored."""
        if dir_rel in self._rules:
            return self._rules[dir_rel]
        rules: IgnoreRules | None
        if dir_rel == self.start or dir_rel == ".":
            rules = await ignore_rules_for(self.env, dir_rel)
        else:
            parent = await self._rules_for(posixpath.dirname(dir_rel) or ".")
            if parent is None or parent.ignored(dir_rel, is_dir=True):
                rules = None
            else:
                text = await read_gitignore(self.env, posixpath.join(self.env.root, dir_rel))
                rules = parent.with_gitignore(dir_rel, text) if text is not None else parent
        self._rules[dir_rel] = rules
        return rules

    async def __call__(self, file_rel: str) -> bool:
        rules = await self._rules_for(posixpath.dirname(file_rel) or ".")
        return rules is None or rules.ignored(file_rel, is_dir=False)


class _GlobFilter:
    """ripgrep's `--glob` rule for files below the search directory `start`: a glob is matched
    gitignore-style (no '/' = any file name; '/' = anchored to the workspace root; trailing '/' =
    directories only). A plain glob keeps files it matches; a '!' glob drops files it matches and
    everything below directories it matches (the search directory itself is never matched)."""

    def __init__(self, glob: str, start: str) -> None:
        self.negated = glob.startswith("!")
        body = glob[1:] if self.negated else glob
        self.dir_only = body.endswith("/")
        body = body.rstrip("/")
        self.anchored = "/" in body
        self.regex = compile_glob(body.lstrip("/"))
        self.skip = 0 if start == "." else len(start.split("/"))

    def _matches(self, path: str, *, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return bool(self.regex.match(path if self.anchored else path.rsplit("/", 1)[-1]))

    def __call__(self, rel: str) -> bool:
        if not self.negated:
            return self._matches(rel, is_dir=False)
        if self._matches(rel, is_dir=False):
            return False
        parts = rel.split("/")[:-1]
        return not any(self._matches("/".join(parts[:i]), is_dir=True) for i in range(self.skip + 1, len(parts) + 1))
