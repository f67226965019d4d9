"""list and glob: what is in the workspace, honouring .gitignore."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from kode.runtime.environment import Environment, EnvironmentError_, FileStat
from kode.runtime.paths import GIT_DIR, GITIGNORE, IgnoreRules, ancestors, path_sort_key
from kode.tools._common import (
    check_relative_pattern,
    did_you_mean,
    env_errors,
    rel_path,
    target_path,
)
from kode.tools.base import Tool, ToolContext, ToolError, ToolResult

MAX_LIST_ENTRIES = 500
MAX_GLOB_RESULTS = 500
MAX_BRACE_EXPANSIONS = 64


async def _directory(ctx: ToolContext, path: str) -> tuple[str, str]:
    """(canonical, workspace-relative) of an existing directory, or a ToolError saying what is wrong."""
    with env_errors():
        real = await ctx.env.resolve(path)
        st = await ctx.env.stat(real)
    rel = rel_path(ctx.env, real)
    if st is None:
        raise ToolError(f"Directory not found: {rel}." + await did_you_mean(ctx.env, rel))
    if not st.is_dir:
        raise ToolError(f"{rel} is a file, not a directory. Use read_file to read it.")
    return real, rel


async def read_gitignore(env: Environment, dir_real: str) -> str | None:
    """Text of the .gitignore in a directory, or None."""
    try:
        return (await env.read_bytes(posixpath.join(dir_real, GITIGNORE))).decode("utf-8", errors="replace")
    except (EnvironmentError_, OSError):  # missing, unreadable, a directory, a link out: no rules
        return None


async def ignore_rules_for(env: Environment, rel: str) -> IgnoreRules:
    """The .gitignore rules from the root down to directory `rel`, as `walk_files` applies them: a
    directory asked for by name is shown even if ignored, with only its own rules."""
    rules = IgnoreRules()
    for ancestor in ancestors(rel):
        if ancestor and rules.ignored(ancestor, is_dir=True):
            rules = IgnoreRules()
        text = await read_gitignore(env, posixpath.join(env.root, ancestor) if ancestor else env.root)
        if text is not None:
            rules = rules.with_gitignore(ancestor, text)
    return rules


class ListParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(".", description="Directory to list, relative to the workspace root. Default: the root.")
    depth: int = Field(
        1, ge=1, le=5, description="How many levels to show: 1 lists only the directory's own entries (default)."
    )


class ListDir(Tool[ListParams]):
    name = "list"
    description = (
        "List a directory of the workspace: directories first (marked with a trailing `/`), then files. "
        "Entries ignored by .gitignore (and .git itself) are left out. Use `depth` to see a few levels at once "
        "and glob to find files by name pattern."
    )
    Params = ListParams
    kind = "read"

    def permission_target(self, params: ListParams) -> str:
        return target_path(params.path)

    async def run(self, params: ListParams, ctx: ToolContext) -> ToolResult:
        real, rel = await _directory(ctx, params.path)
        rules = await ignore_rules_for(ctx.env, rel)
        listing = _Listing(ctx.env, params.depth)
        with env_errors():
            await listing.visit(real, rel, rules, level=0)
        if not listing.lines and not listing.hidden:
            return ToolResult(output=f"{rel}/ is empty.")
        notes: list[str] = []
        if listing.truncated:
            notes.append(
                f"Listing cut at {MAX_LIST_ENTRIES} entries; list a subdirectory, lower `depth`, "
                "or use glob to narrow it."
            )
        if listing.hidden:
            notes.append(f"{listing.hidden} entries ignored by .gitignore are not shown.")
        output = f"{rel}/\n" + "\n".join(listing.lines)
        if notes:
            output += "\n\n[" + " ".join(notes) + "]"
        return ToolResult(output=output)


class _Listing:
    def __init__(self, env: Environment, depth: int) -> None:
        self.env = env
        self.depth = depth
        self.lines: list[str] = []
        self.hidden = 0
        self.truncated = False

    async def visit(self, dir_real: str, dir_rel: str, rules: IgnoreRules, level: int) -> None:
        entries = await self.env.list_dir(dir_real)
        names = {posixpath.basename(e.path): e for e in entries}
        if level > 0 and GITIGNORE in names and names[GITIGNORE].is_file:
            text = await read_gitignore(self.env, dir_real)
            if text is not None:
                rules = rules.with_gitignore(dir_rel, text)
        for entry in sorted(entries, key=_entry_order):
            name = posixpath.basename(entry.path)
            if name == GIT_DIR:
                continue
            rel = name if dir_rel == "." else f"{dir_rel}/{name}"
            if rules.ignored(rel, is_dir=entry.is_dir):
                self.hidden += 1
                continue
            if len(self.lines) >= MAX_LIST_ENTRIES:
                self.truncated = True
                return
            self.lines.append("  " * level + name + ("/" if entry.is_dir else ""))
            if entry.is_dir and level + 1 < self.depth:
                await self.visit(posixpath.join(dir_real, name), rel, rules, level + 1)
                if self.truncated:
                    return


def _entry_order(entry: FileStat) -> tuple[bool, str]:
    return (not entry.is_dir, posixpath.basename(entry.path))


class GlobParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(
        description="Glob pattern matched against file paths relative to `path`. `*` and `?` stay within one "
        "directory, `**` matches any number of directories, `{a,b}` gives alternatives, `[abc]` a character class. "
        "Examples: '**/*.py' (every Python file), 'src/**/test_*.py', '*.{ts,tsx}' (only directly in `path`)."
    )
    path: str = Field(".", description="Directory to search in, relative to the workspace root. Default: the root.")


class Glob(Tool[GlobParams]):
    name = "glob"
    description = (
        "Find files by name pattern (glob). Returns workspace-relative paths, sorted, one per line; files "
        "ignored by .gitignore are skipped. Use grep to search file contents."
    )
    Params = GlobParams
    kind = "read"

    def permission_target(self, params: GlobParams) -> str:
        return target_path(params.path)

    def summary(self, params: GlobParams) -> str:
        path = target_path(params.path)
        return params.pattern if path == "." else f"{params.pattern} in {path}"

    async def run(self, params: GlobParams, ctx: ToolContext) -> ToolResult:
        pattern = check_relative_pattern(params.pattern.strip(), ctx.env.root)
        if pattern.startswith("!"):
            raise ToolError("glob patterns cannot start with '!'; give the pattern of the files you want.")
        anchored_at_root = params.pattern.strip().startswith("/")
        real, rel = await _directory(ctx, params.path)
        matcher = compile_glob(pattern)
        with env_errors():
            files = await ctx.env.walk_files(real)
        base = "" if rel == "." or anchored_at_root else rel + "/"
        matches = [f for f in files if f.startswith(base) and matcher.match(f[len(base) :])]
        matches.sort(key=path_sort_key)
        if not matches:
            hint = ""
            if "/" not in pattern and "**" not in pattern:
                hint = f" (a pattern without '/' only matches directly in {rel}/; try '**/{pattern}')"
            return ToolResult(output=f"No files match {params.pattern!r} in {rel}/{hint}.")
        shown = matches[:MAX_GLOB_RESULTS]
        output = "\n".join(shown)
        if len(matches) > len(shown):
            output += (
                f"\n\n[{len(matches) - len(shown)} more matches not shown ({len(matches)} in total); "
                "use a narrower pattern or path.]"
            )
        return ToolResult(output=output)


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Regex for a path glob: `*`/`?` within a segment, `**` across segments, `{a,b}`, `[...]`."""
    alternatives = list(_expand_braces(pattern))
    regex = "|".join(f"(?:{_glob_to_regex(alt)})" for alt in alternatives)
    return re.compile(rf"(?:{regex})\Z", re.DOTALL)


def _glob_to_regex(pattern: str) -> str:
    pattern = re.sub(r"/+", "/", pattern)
    while pattern.startswith("./"):
        pattern = pattern[2:]
    segments = pattern.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
        else:
            out.append(_segment_to_regex(segment) + ("" if last else "/"))
    return "".join(out)


def _segment_to_regex(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find("]", i + 2 if segment[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = segment[i + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\").replace("[", "\\[")
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(segment):
            i += 1
            out.append(re.escape(segment[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _expand_braces(pattern: str, budget: int = MAX_BRACE_EXPANSIONS) -> Iterator[str]:
    """Shell-style brace expansion: 'a.{py,pyi}' -> 'a.py', 'a.pyi' (nested braces work)."""
    start = _find_brace(pattern)
    if start is None:
        yield pattern
        return
    depth = 0
    parts: list[str] = []
    last = start + 1
    for i in range(start, len(pattern)):
        char = pattern[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[last:i])
                head, tail = pattern[:start], pattern[i + 1 :]
                produced = 0
                for part in parts:
                    for expanded in _expand_braces(head + part + tail, budget):
                        if produced >= budget:
                            return
                        produced += 1
                        yield expanded
                return
        elif char == "," and depth == 1:
            parts.append(pattern[last:i])
            last = i + 1
    yield pattern  # unbalanced: literal


def _find_brace(pattern: str) -> int | None:
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "{":
            return i
        i += 1
    return None
