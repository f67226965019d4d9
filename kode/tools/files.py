"""read_file, write_file and edit_file: text files in the workspace, through the Environment."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from kode.runtime.environment import FileStat
from kode.tools._common import (
    binary_kind,
    cap_lines,
    did_you_mean,
    env_errors,
    human_size,
    is_binary,
    rel_path,
    sha256,
    target_path,
)
from kode.tools.base import Tool, ToolContext, ToolError, ToolResult
from kode.tools.diffs import diff_stats, unified_diff

MAX_LINE_CHARS = 2000
"""read_file cuts longer lines (minified code, data blobs) with a marker."""
MAX_FULL_READ = 32 * 1024 * 1024
"""Files up to this size are read whole (and hashed); bigger ones only show their beginning."""


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _count_lines(text: str) -> int:
    return len(_split_lines(text))


async def _existing_file(ctx: ToolContext, path: str, *, purpose: str) -> tuple[str, str, FileStat | None]:
    """(canonical path, workspace-relative path, stat) of a path; stat is None if it is missing."""
    with env_errors():
        real = await ctx.env.resolve(path)
        st = await ctx.env.stat(real)
    rel = rel_path(ctx.env, real)
    if st is not None and st.is_dir:
        raise ToolError(
            f"{rel} is a directory, not a file. {purpose} "
            "Use the `list` tool to see what it contains, or `glob` to find files in it."
        )
    if st is not None and not st.is_file:
        raise ToolError(f"{rel} is not a regular file (it is a device, socket, pipe or dangling link).")
    return real, rel, st


@dataclass(frozen=True, slots=True)
class _Planned:
    """A write worked out in full but not yet done: what the approval prompt shows is what runs."""

    real: str
    rel: str
    data: bytes
    diff: str
    output: str

    async def commit(self, ctx: ToolContext) -> ToolResult:
        with env_errors():
            await ctx.env.write_bytes(self.real, self.data)
        ctx.state.file_hashes[self.real] = sha256(self.data)
        return ToolResult(output=self.output, display={"diff": self.diff, "path": self.rel})


class ReadFileParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description="The file to read, relative to the workspace root (an absolute path inside the workspace "
        "also works)."
    )
    offset: int = Field(
        1,
        ge=1,
        description="1-based line number to start reading from. Use it with `limit` to page through long files.",
    )
    limit: int | None = Field(
        None,
        ge=1,
        description="Maximum number of lines to return. Leave it out to read from `offset` up to the default maximum "
        "(the output says how to continue if the file is longer).",
    )


class ReadFile(Tool[ReadFileParams]):
    name = "read_file"
    description = (
        "Read a text file from the workspace. Lines come back numbered like `cat -n` (line number, a tab, then "
        "the line); the numbers are not part of the file, so never copy them into edits. Long files are returned "
        "in pages: use `offset` and `limit` to read further. Read a file before editing it."
    )
    Params = ReadFileParams
    kind = "read"

    def permission_target(self, params: ReadFileParams) -> str:
        return target_path(params.path)

    def summary(self, params: ReadFileParams) -> str:
        target = target_path(params.path)
        if params.limit is not None:
            return f"{target}:{params.offset}-{params.offset + params.limit - 1}"
        return target if params.offset == 1 else f"{target}:{params.offset}-"

    async def run(self, params: ReadFileParams, ctx: ToolContext) -> ToolResult:
        real, rel, st = await _existing_file(ctx, params.path, purpose="read_file only reads files.")
        if st is None:
            raise ToolError(f"File not found: {rel}." + await did_you_mean(ctx.env, rel))
        ranged = params.offset != 1 or params.limit is not None
        partial = st.size > MAX_FULL_READ
        if partial and ranged:
            last = params.offset + (params.limit or 100) - 1
            raise ToolError(
                f"{rel} is too large ({human_size(st.size)}) to page through with read_file. Use grep to find "
                f"what you need, or bash, e.g. `sed -n '{params.offset},{last}p' {rel}`."
            )
        with env_errors():
            data = await ctx.env.read_bytes(real, limit=ctx.settings.read_max_bytes if partial else None)
        if is_binary(data):
            raise ToolError(
                f"{rel} is a binary file ({human_size(st.size)}, looks like {binary_kind(data, rel)}); read_file only "
                f"shows text. To inspect it use bash, e.g. `file {rel}` or `xxd {rel} | head`."
            )
        if not partial:
            ctx.state.file_hashes[real] = sha256(data)
        lines = _split_lines(data.decode("utf-8", errors="replace"))
        if partial and lines:
            lines.pop()  # the read stopped mid-line
        if not lines:
            return ToolResult(output=f"[{rel} is empty]")
        total = len(lines)
        if params.offset > total:
            raise ToolError(f"offset {params.offset} is past the end of {rel}, which has {total} lines.")
        limit = params.limit or ctx.settings.read_default_lines
        start = params.offset - 1
        chosen = lines[start : start + limit]
        cut_lines = 0
        numbered: list[str] = []
        for number, line in enumerate(chosen, start=params.offset):
            line = line.removesuffix("\r")
            if len(line) > MAX_LINE_CHARS:
                cut_lines += 1
                line = f"{line[:MAX_LINE_CHARS]}... [line cut: {len(line)} characters in total]"
            numbered.append(f"{number:>6}\t{line}")
        numbered, _ = cap_lines(numbered, ctx.settings.read_max_bytes)
        end = params.offset + len(numbered) - 1
        notes: list[str] = []
        if st.size > ctx.settings.read_max_bytes and not ranged:
            size = f"{human_size(st.size)}" + ("" if partial else f", {total} lines")
            notes.append(f"{rel} is a large file ({size}); only its beginning is shown.")
        if end < total or partial:
            of_total = "" if partial else f" of {total}"
            notes.append(
                f"Showing lines {params.offset}-{end}{of_total}. To read on, call read_file with offset={end + 1} "
                "(and a limit), or use grep to find a specific part."
            )
        if cut_lines:
            notes.append(f"{cut_lines} line(s) longer than {MAX_LINE_CHARS} characters were cut.")
        output = "\n".join(numbered)
        if notes:
            output += "\n\n[" + " ".join(notes) + "]"
        return ToolResult(output=output)


class WriteFileParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description="The file to write, relative to the workspace root. Missing parent directories are created."
    )
    content: str = Field(
        description="The complete new content of the file. It replaces the whole file; to change part of an "
        "existing file use edit_file instead."
    )


class WriteFile(Tool[WriteFileParams]):
    name = "write_file"
    description = (
        "Create a file, or replace an existing file's entire content. The write is atomic and keeps an existing "
        "file's permissions. Prefer edit_file for changing part of an existing file."
    )
    Params = WriteFileParams
    kind = "edit"

    def permission_target(self, params: WriteFileParams) -> str:
        return target_path(params.path)

    async def _plan(self, params: WriteFileParams, ctx: ToolContext) -> _Planned:
        real, rel, st = await _existing_file(ctx, params.path, purpose="write_file writes files.")
        old_text: str | None = None
        old_lines = 0
        if st is not None and st.size <= MAX_FULL_READ:
            with env_errors():
                old = await ctx.env.read_bytes(real)
            old_text = "" if is_binary(old) else old.decode("utf-8", errors="replace")
            old_lines = _count_lines(old_text)
        try:
            data = params.content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ToolError(f"content cannot be encoded as UTF-8: {exc.reason}.") from None
        lines = _count_lines(params.content)
        if st is None:
            output = f"Created {rel} ({lines} lines)."
            diff = unified_diff(None, params.content, rel)
        else:
            output = f"Overwrote {rel} ({lines} lines; it had {old_lines})."
            diff = unified_diff(old_text or "", params.content, rel)
        return _Planned(real, rel, data, diff, output)

    async def preview(self, params: WriteFileParams, ctx: ToolContext) -> str:
        return (await self._plan(params, ctx)).diff

    async def run(self, params: WriteFileParams, ctx: ToolContext) -> ToolResult:
        return await (await self._plan(params, ctx)).commit(ctx)


class Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_text: str = Field(
        description="Exact text to find, copied from the file without read_file's line-number prefixes. Indentation "
        "and whitespace must match exactly. Include enough surrounding lines that it occurs only once."
    )
    new_text: str = Field(description="The text that replaces old_text (empty to delete it).")
    replace_all: bool = Field(
        False, description="Replace every occurrence of old_text instead of requiring it to be unique."
    )


class EditFileParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="The file to edit, relative to the workspace root. It must exist.")
    edits: list[Edit] = Field(
        min_length=1,
        description="Replacements applied in order, each to the result of the previous one. Either all of them "
        "succeed and the file is written once, or none is applied.",
    )


class EditFile(Tool[EditFileParams]):
    name = "edit_file"
    description = (
        "Edit an existing file by exact text replacement: each edit replaces `old_text` with `new_text`. "
        "Read the file first; edit_file refuses a file that changed on disk since you last read or wrote it. "
        "Line endings (LF or CRLF) and permissions are preserved. To create a file use write_file."
    )
    Params = EditFileParams
    kind = "edit"

    def permission_target(self, params: EditFileParams) -> str:
        return target_path(params.path)

    def summary(self, params: EditFileParams) -> str:
        count = len(params.edits)
        return f"{target_path(params.path)} ({count} edit{'s' if count != 1 else ''})"

    async def _plan(self, params: EditFileParams, ctx: ToolContext) -> _Planned:
        real, rel, st = await _existing_file(ctx, params.path, purpose="edit_file edits files.")
        if st is None:
            hint = await did_you_mean(ctx.env, rel)
            raise ToolError(f"File not found: {rel}. To create a new file use write_file.{hint}")
        with env_errors():
            raw = await ctx.env.read_bytes(real)
        if is_binary(raw):
            raise ToolError(f"{rel} is a binary file ({binary_kind(raw, rel)}); edit_file only edits text.")
        known = ctx.state.file_hashes.get(real)
        if known is not None and known != sha256(raw):
            raise ToolError(
                f"{rel} has changed on disk since you last read or wrote it. Read it again with read_file, then "
                "redo your edits against its current content. No changes were made."
            )
        text = raw.decode("utf-8", errors="surrogateescape")
        crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        work = text.replace("\r\n", "\n") if crlf else text
        replacements = 0
        for index, edit in enumerate(params.edits, start=1):
            old, new = edit.old_text, edit.new_text
            if crlf:
                old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
            work, count = _apply(work, old, new, edit.replace_all, index, len(params.edits), rel)
            replacements += count
        result = work.replace("\n", "\r\n") if crlf else work
        try:
            data = result.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError as exc:
            raise ToolError(f"new_text cannot be encoded as UTF-8: {exc.reason}. No changes were made.") from None
        diff = unified_diff(text, result, rel)
        stats = diff_stats(diff)
        count = len(params.edits)
        output = (
            f"Edited {rel}: {count} edit{'s' if count != 1 else ''}, {replacements} replacement"
            f"{'s' if replacements != 1 else ''} (+{stats.added} -{stats.removed} lines)."
        )
        return _Planned(real, rel, data, diff, output)

    async def preview(self, params: EditFileParams, ctx: ToolContext) -> str:
        return (await self._plan(params, ctx)).diff

    async def run(self, params: EditFileParams, ctx: ToolContext) -> ToolResult:
        return await (await self._plan(params, ctx)).commit(ctx)



_UNCHANGED = "No changes were made."
_LINE_NUMBER_PREFIX = re.compile(r"^\s*\d+\t", re.MULTILINE)


def _apply(text: str, old: str, new: str, replace_all: bool, index: int, total: int, rel: str) -> tuple[str, int]:
    """Apply edit `index` (1-based, of `total`) or raise a ToolError telling the model what to change."""
    label = "" if total == 1 else f"Edit {index} of {total}: "
    if old == "":
        raise ToolError(
            f"{label}old_text is empty. Include the text to replace (to insert, include a neighbouring line in "
            "old_text and repeat it in new_text; to create a file use write_file). No changes were made."
        )
    if old == new:
        raise ToolError(f"{label}old_text and new_text are identical, so it would change nothing. {_UNCHANGED}")
    count = text.count(old)
    if count == 0:
        after = " (after applying the edits before it)" if index > 1 else ""
        raise ToolError(f"{label}old_text was not found in {rel}{after}. {_not_found_hint(text, old)} {_UNCHANGED}")
    if count > 1 and not replace_all:
        raise ToolError(
            f"{label}old_text matches {count} places in {rel}. Include more surrounding lines to make it unique, "
            f"or set replace_all to true to change all {count}. No changes were made."
        )
    if replace_all:
        return text.replace(old, new), count
    return text.replace(old, new, 1), 1


def _squash(text: str) -> str:
    return " ".join(text.split())


def _not_found_hint(text: str, old: str) -> str:
    if _LINE_NUMBER_PREFIX.search(old) and not _LINE_NUMBER_PREFIX.search(text):
        return "old_text seems to include read_file's line-number prefixes (number + tab); remove them."
    if _squash(old) and _squash(old) in _squash(text):
        return (
            "It does match if whitespace is ignored: copy the exact indentation, spaces and line breaks from the "
            "file (read it again if unsure)."
        )
    if old.lower() in text.lower():
        return "It matches with different letter case: copy the text exactly."
    return "Read the file again and copy the text exactly, including whitespace."
