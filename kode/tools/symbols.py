"""Code-symbol tools: outline a file, find where a name is defined, find where it is used.

They answer with tree-sitter rather than regular expressions, so a definition is a definition
(not a comment or a string mentioning the name) and a reference is an identifier. Files are read
through the Environment, so the tools work on remote workspaces too; a cheap byte search picks
the candidate files before anything is parsed, and parses run in a worker thread so the event
loop stays responsive. Parsed tags are shared with the repo map's in-memory cache.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kode.repo.cache import TagCache, content_key
from kode.repo.tags import Definition, FileTags, extract_tags, language_for, reference_lines
from kode.runtime.environment import EnvironmentError_
from kode.tools._common import cap_lines, did_you_mean, env_errors, is_binary, rel_path, target_path
from kode.tools.base import Tool, ToolContext, ToolError, ToolResult

MAX_FILE_BYTES = 512 * 1024
MAX_DEFINITIONS = 50
DEFAULT_REFERENCES = 100
READ_CONCURRENCY = 16
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(?:(?:\.|::)[A-Za-z_$][A-Za-z0-9_$]*)*\Z")
_cache = TagCache()


def _tags(path: str, data: bytes) -> FileTags | None:
    """Tags of one file through the shared memory cache (parsed at most once per content)."""
    language = language_for(path)
    if language is None:
        return None
    key = content_key(language, data)
    hit = _cache.get_many([key]).get(key)
    if hit is not None:
        return hit
    tags = extract_tags(path, data)
    if tags is not None:
        _cache.remember(key, tags)
    return tags


def _split_name(name: str) -> tuple[str, str]:
    """'Bar.foo' / 'Bar::foo' -> ('Bar', 'foo'); 'foo' -> ('', 'foo')."""
    parts = re.split(r"\.|::", name)
    return (parts[-2] if len(parts) > 1 else ""), parts[-1]


async def _candidates(ctx: ToolContext, path: str, name: str) -> list[tuple[str, bytes]]:
    """Parseable files below `path` whose bytes contain `name` as a whole word, sorted by path."""
    env = ctx.env
    with env_errors():
        real = await env.resolve(path)
        st = await env.stat(real)
    if st is None:
        rel = rel_path(env, real)
        raise ToolError(f"Path not found: {rel}." + await did_you_mean(env, rel))
    with env_errors():
        files = await env.walk_files(rel_path(env, real)) if st.is_dir else [rel_path(env, real)]
    word = re.compile(rb"(?<![A-Za-z0-9_$])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9_$])")
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def one(rel: str) -> tuple[str, bytes] | None:
        async with gate:
            try:
                data = await env.read_bytes(await env.resolve(rel), limit=MAX_FILE_BYTES + 1)
            except EnvironmentError_:
                return None
        if len(data) > MAX_FILE_BYTES or is_binary(data) or not word.search(data):
            return None
        return rel, data

    found = await asyncio.gather(*(one(rel) for rel in files if language_for(rel) is not None))
    return [item for item in found if item is not None]


def _check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise ToolError(f"{name!r} is not an identifier (use a bare name like 'parse' or 'Parser.parse').")
    return name


class SymbolsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, description="The source file to outline, relative to the workspace root.")


class Symbols(Tool[SymbolsParams]):
    name = "symbols"
    description = (
        "Outline one source file: its classes, functions, methods, types and other definitions with their "
        "line numbers and signature lines. Cheaper than reading the whole file to find your way around it. "
        "Supports Python, JavaScript, TypeScript/TSX, Go, Rust, Java, C, C++ and Ruby."
    )
    Params = SymbolsParams
    kind = "read"

    def permission_target(self, params: SymbolsParams) -> str:
        return target_path(params.path)

    async def run(self, params: SymbolsParams, ctx: ToolContext) -> ToolResult:
        env = ctx.env
        with env_errors():
            real = await env.resolve(params.path)
            st = await env.stat(real)
        rel = rel_path(env, real)
        if st is None:
            raise ToolError(f"File not found: {rel}." + await did_you_mean(env, rel))
        if st.is_dir:
            raise ToolError(f"{rel} is a directory; symbols outlines one file (use find_definition to search).")
        if language_for(rel) is None:
            raise ToolError(f"{rel}: not a supported source file (Python, JS, TS, Go, Rust, Java, C, C++, Ruby).")
        with env_errors():
            data = await env.read_bytes(real)
        if is_binary(data):
            raise ToolError(f"{rel} is a binary file.")
        tags = await asyncio.to_thread(_tags, rel, data)
        if tags is None or not tags.definitions:
            return ToolResult(output=f"{rel}: no definitions found.")
        lines = [f"{rel} ({tags.language}, {len(tags.definitions)} definitions):"]
        lines += [_outline_line(d) for d in tags.definitions]
        kept, dropped = cap_lines(lines, ctx.settings.output_limit)
        if dropped:
            kept.append(f"... {dropped} more definitions not shown")
        return ToolResult(output="\n".join(kept), display={"definitions": len(tags.definitions)})


def _outline_line(d: Definition) -> str:
    indent = "  " if d.scope else ""
    return f"{d.line:>6}  {indent}{d.kind} {d.qualname} — {d.signature.strip()}"


class FindDefinitionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="The name to look up: 'parse', or qualified 'Parser.parse'.")
    path: str = Field(".", description="Directory (or file) to search, relative to the workspace root.")


class FindDefinition(Tool[FindDefinitionParams]):
    name = "find_definition"
    description = (
        "Find where a class, function, method, type or other symbol is defined: `path:line: signature` for "
        "each definition, found by parsing the code (not by text search). Qualify a method as 'Class.method' "
        "to narrow it down."
    )
    Params = FindDefinitionParams
    kind = "read"

    def permission_target(self, params: FindDefinitionParams) -> str:
        return target_path(params.path)

    def summary(self, params: FindDefinitionParams) -> str:
        path = target_path(params.path)
        return params.name + ("" if path == "." else f" in {path}")

    async def run(self, params: FindDefinitionParams, ctx: ToolContext) -> ToolResult:
        name = _check_name(params.name)
        scope, bare = _split_name(name)
        files = await _candidates(ctx, params.path, bare)

        def search() -> list[tuple[str, Definition]]:
            hits: list[tuple[str, Definition]] = []
            for rel, data in files:
                tags = _tags(rel, data)
                for d in tags.definitions if tags else ():
                    if d.name == bare and (not scope or d.scope == scope):
                        hits.append((rel, d))
            return hits

        hits = await asyncio.to_thread(search)
        if not hits:
            return ToolResult(output=f"No definition of {name} found.")
        lines = [f"{rel}:{d.line}: {d.signature.strip()}  ({d.kind})" for rel, d in hits[:MAX_DEFINITIONS]]
        if len(hits) > MAX_DEFINITIONS:
            lines.append(f"... {len(hits) - MAX_DEFINITIONS} more definitions not shown; narrow with path")
        return ToolResult(output="\n".join(lines), display={"definitions": len(hits)})


class FindReferencesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="The identifier whose uses to find (a bare name: 'parse').")
    path: str = Field(".", description="Directory (or file) to search, relative to the workspace root.")
    max_results: int | None = Field(None, ge=1, le=2000, description="Maximum lines to return (default 100).")


class FindReferences(Tool[FindReferencesParams]):
    name = "find_references"
    description = (
        "Find where an identifier is used (called, read, named as a type): `path:line: text` for each line, "
        "found by parsing the code, so comments and strings are skipped and definitions are not listed."
    )
    Params = FindReferencesParams
    kind = "read"

    def permission_target(self, params: FindReferencesParams) -> str:
        return target_path(params.path)

    def summary(self, params: FindReferencesParams) -> str:
        path = target_path(params.path)
        return params.name + ("" if path == "." else f" in {path}")

    async def run(self, params: FindReferencesParams, ctx: ToolContext) -> ToolResult:
        _, bare = _split_name(_check_name(params.name))
        files = await _candidates(ctx, params.path, bare)
        limit = params.max_results or DEFAULT_REFERENCES

        def search() -> tuple[list[str], int]:
            out: list[str] = []
            total = 0
            for rel, data in files:
                rows = reference_lines(rel, data, bare)
                if not rows:
                    continue
                text = data.decode("utf-8", "replace").split("\n")
                for row in rows:
                    total += 1
                    if len(out) < limit:
                        out.append(f"{rel}:{row}: {text[row - 1].strip()[:300]}")
            return out, total

        lines, total = await asyncio.to_thread(search)
        if not lines:
            return ToolResult(output=f"No references to {bare} found.")
        kept, _ = cap_lines(lines, ctx.settings.output_limit)
        if total > len(kept):
            kept.append(f"... {total - len(kept)} more references not shown (of {total})")
        return ToolResult(output="\n".join(kept), display={"references": total})


def symbol_tools() -> list[Tool[Any]]:
    """The three symbol tools, for the registry."""
    return [Symbols(), FindDefinition(), FindReferences()]
