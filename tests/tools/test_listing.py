"""list and glob on real trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from kode.tools import listing
from kode.tools.listing import compile_glob

from .helpers import Call, write


@pytest.fixture
def tree(ws: Path) -> Path:
    write(ws / ".gitignore", "*.log\nnode_modules/\n")
    write(ws / "README.md", "")
    write(ws / "app.log", "")
    write(ws / "src" / "main.py", "")
    write(ws / "src" / "util" / "helpers.py", "")
    write(ws / "src" / "util" / "types.pyi", "")
    write(ws / "src" / ".gitignore", "gen/\n")
    write(ws / "src" / "gen" / "out.py", "")
    write(ws / "tests" / "test_main.py", "")
    write(ws / "node_modules" / "x" / "index.js", "")
    write(ws / ".git" / "HEAD", "")
    (ws / "empty").mkdir()
    return ws


async def test_list_one_level_dirs_first_and_ignored_hidden(call: Call, tree: Path) -> None:
    result = await call("list")
    assert not result.is_error
    lines = result.output.split("\n\n")[0].splitlines()
    assert lines == ["./", "empty/", "src/", "tests/", ".gitignore", "README.md"]
    assert "2 entries ignored by .gitignore" in result.output
    assert ".git/" not in result.output


async def test_list_depth_applies_nested_gitignore(call: Call, tree: Path) -> None:
    result = await call("list", path="src", depth=3)
    lines = result.output.split("\n\n")[0].splitlines()
    assert lines == ["src/", "util/", "  helpers.py", "  types.pyi", ".gitignore", "main.py"]


async def test_list_errors(call: Call, tree: Path) -> None:
    missing = await call("list", path="srcc")
    assert missing.is_error and "not found" in missing.output and "src" in missing.output
    a_file = await call("list", path="README.md")
    assert a_file.is_error and "read_file" in a_file.output
    assert "empty" in (await call("list", path="empty")).output


async def test_list_is_capped(call: Call, ws: Path) -> None:
    for i in range(listing.MAX_LIST_ENTRIES + 20):
        write(ws / f"f{i:04}.txt", "")
    result = await call("list")
    assert result.output.count(".txt") == listing.MAX_LIST_ENTRIES
    assert f"cut at {listing.MAX_LIST_ENTRIES} entries" in result.output


async def test_glob_double_star_sorted_and_gitignore(call: Call, tree: Path) -> None:
    result = await call("glob", pattern="**/*.py")
    assert result.output.splitlines() == ["src/main.py", "src/util/helpers.py", "tests/test_main.py"]


async def test_glob_relative_to_path_returns_workspace_paths(call: Call, tree: Path) -> None:
    result = await call("glob", pattern="*.py", path="src")
    assert result.output.splitlines() == ["src/main.py"]
    result = await call("glob", pattern="util/*.{py,pyi}", path="src")
    assert result.output.splitlines() == ["src/util/helpers.py", "src/util/types.pyi"]


async def test_glob_no_match_is_not_an_error(call: Call, tree: Path) -> None:
    result = await call("glob", pattern="*.rs")
    assert not result.is_error and "No files match" in result.output and "**/*.rs" in result.output


async def test_glob_absolute_pattern_inside_workspace(call: Call, tree: Path) -> None:
    result = await call("glob", pattern=f"{tree.resolve()}/src/*.py")
    assert result.output.splitlines() == ["src/main.py"]


async def test_glob_is_capped(call: Call, ws: Path) -> None:
    for i in range(listing.MAX_GLOB_RESULTS + 20):
        write(ws / f"f{i:04}.txt", "")
    result = await call("glob", pattern="*.txt")
    assert result.output.count(".txt") == listing.MAX_GLOB_RESULTS
    assert "20 more matches" in result.output
    assert result.output.startswith("f0000.txt\nf0001.txt\n")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.py", "a.py", True),
        ("*.py", "d/a.py", False),
        ("**/*.py", "a.py", True),
        ("**/*.py", "d/e/a.py", True),
        ("src/**", "src/a/b.c", True),
        ("src/**/x", "src/x", True),
        ("src/**/x", "src/a/b/x", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "c.txt", True),
        ("[!ab].txt", "a.txt", False),
        ("*.{js,ts}", "x.ts", True),
        ("{src,lib}/**/*.rs", "lib/a/b.rs", True),
        ("{src,lib}/**/*.rs", "bin/a.rs", False),
        ("a.b", "axb", False),
        ("./a/*.py", "a/x.py", True),
    ],
)
def test_compile_glob(pattern: str, path: str, expected: bool) -> None:
    assert bool(compile_glob(pattern).match(path)) is expected


async def test_list_ignores_gitignore_symlinked_from_outside(call: Call, ws: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside-rules", "*\n")
    write(ws / "kept.txt", "")
    (ws / ".gitignore").symlink_to(tmp_path / "outside-rules")
    result = await call("list")
    assert "kept.txt" in result.output and "ignored" not in result.output
