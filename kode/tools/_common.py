"""Small helpers the built-in tools share: Environment errors as ToolErrors, display paths, caps."""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager

from kode.runtime.environment import Environment, EnvironmentError_
from kode.tools.base import ToolError

BINARY_SNIFF_BYTES = 8192


@contextmanager
def env_errors() -> Iterator[None]:
    """Re-raise an Environment's error as a ToolError the model can read."""
    try:
        yield
    except EnvironmentError_ as exc:
        message = str(exc).rstrip(".")
        raise ToolError(f"{message}.") from None


def rel_path(env: Environment, canonical: str) -> str:
    """Workspace-relative path of a canonical path inside the workspace ('.' for the root)."""
    root = env.root
    if canonical == root:
        return "."
    return posixpath.relpath(canonical, root)


def target_path(path: str) -> str:
    """A lexically normalised form of a path argument, for permission rules and summaries.
    (Permission rules that must see through symlinks resolve with `Environment.resolve`.)"""
    if not path or "\x00" in path:
        return path
    return posixpath.normpath(path)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "zip archive (or a format built on zip: jar, docx, wheel, ...)"),
    (b"\x7fELF", "ELF executable or library"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\xca\xfe\xba\xbe", "Java class file or Mach-O universal binary"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ", "xz-compressed data"),
)


def binary_kind(data: bytes, path: str) -> str:
    """A short guess at what a binary file is, from its first bytes or its extension."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP image"
    ext = posixpath.splitext(path)[1].lower()
    return f"binary data ({ext} file)" if ext else "binary data"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


async def did_you_mean(env: Environment, path: str) -> str:
    """' Did you mean: a, b?' with similar names in the same directory, or '' (best effort)."""
    parent, name = posixpath.split(posixpath.normpath(path))
    try:
        entries = await env.list_dir(parent or ".")
    except (EnvironmentError_, OSError):
        return ""
    names = [posixpath.basename(e.path) + ("/" if e.is_dir else "") for e in entries]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if not close:
        lowered = {n.lower(): n for n in names}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    if not close:
        return ""
    shown = [posixpath.join(parent, c) if parent else c for c in close]
    return " Did you mean: " + ", ".join(shown) + "?"


def cap_lines(lines: list[str], limit_chars: int) -> tuple[list[str], int]:
    """Keep whole lines while their total length stays within `limit_chars`; return the kept lines
    and how many were dropped."""
    total = 0
    for i, line in enumerate(lines):
        total += len(line) + 1
        if total > limit_chars:
            return lines[:i], len(lines) - i
    return lines, 0


_GLOB_META = re.compile(r"[*?\[{]")


def check_relative_pattern(pattern: str, root: str, what: str = "pattern") -> str:
    """Validate a glob pattern that must stay below its search directory; returns it relative.
    An absolute pattern inside the workspace is made workspace-relative."""
    if not pattern or "\x00" in pattern:
        raise ToolError(f"Invalid {what} {pattern!r}: it must be a non-empty glob such as '**/*.py'.")
    body = pattern[1:] if pattern.startswith("!") else pattern
    if body.startswith("~"):
        raise ToolError(
            f"Access denied: {what} {pattern!r} refers to a home directory, which is outside the workspace. "
            "Use a pattern relative to the search path, e.g. '**/*.py'."
        )
    if body.startswith("/"):
        prefix = root.rstrip("/") + "/"
        if body.startswith(prefix) and not _GLOB_META.search(root):
            body = body[len(prefix) :]
        else:
            raise ToolError(
                f"Access denied: {what} {pattern!r} is an absolute path outside the workspace ({root}). "
                "Patterns are matched below the search path; use a relative pattern such as '**/*.py'."
            )
    if ".." in body.split("/"):
        raise ToolError(
            f"Access denied: {what} {pattern!r} contains '..'; patterns cannot reach outside the search path. "
            "Use the `path` parameter to choose a directory inside the workspace."
        )
    return ("!" + body) if pattern.startswith("!") else body
