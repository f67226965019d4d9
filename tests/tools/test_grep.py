"""grep: ripgrep and the pure-Python fallback must give the same answer on the same tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kode.tools.base import ToolContext, ToolRegistry, ToolResult
from kode.tools.grep import Grep, GrepParams

from .helpers import Call, run_tool, write


@pytest.fixture
def tree(ws: Path, tmp_path: Path) -> Path:
    write(ws / ".gitignore", "*.log\nbuild/\nvendor/\n")
    write(ws / "top.py", "foo = 1\nbar = foo\n")
    write(ws / "app.log", "foo in a log\n")
    write(ws / "build" / "out.py", "foo built\n")
    write(ws / "vendor" / "lib.py", "foo vendored\n")
    write(ws / ".env", "FOO=foo hidden\n")
    write(ws / ".git" / "config", "foo in git\n")
    write(ws / "src" / "a.py", "import os\n\ndef foo():\n    return 'foo'\n\n\nclass Foo:\n    pass\n")
    write(ws / "src" / "b.txt", "nothing here\nfoo at line 2\nfood\nfo\nfoo\n")
    write(ws / "src" / "deep" / "c.py", "x = 'foo'\n")
    write(ws / "src" / ".gitignore", "generated.py\n")
    write(ws / "src" / "generated.py", "foo generated\n")
    write(ws / "crlf.txt", b"foo\r\nbar\r\nfoo end\r\n")
    write(ws / "bin.dat", b"foo\x00\x01binary foo\n")
    write(ws / "late.txt", b"foo first\n" + b"x" * 200_000 + b"\nfoo mid\n\x00\nfoo after\n")  # NUL found late
    write(ws / "we:ird.txt", "foo: colon in name\n")
    write(ws / "a" / "b.txt", "foo a/b\n")
    write(ws / "a-b.txt", "foo a-b\n")
    write(ws / "a.txt", "foo a\n")
    write(ws / "unicode.txt", "naïve foo\nüber\nΑθήνα\n")
    write(ws / "long.txt", "foo " + "x" * 3000 + "\n")
    write(ws / "many.txt", "".join(f"foo {i}\n" for i in range(50)))
    write(tmp_path / "outside" / "o.txt", "foo outside\n")
    (ws / "link_out").symlink_to(tmp_path / "outside")
    (ws / "link_file.txt").symlink_to("a.txt")
    return ws


CASES: list[tuple[str, dict[str, Any]]] = [
    ("foo", {}),
    ("foo", {"context": 1}),
    ("foo", {"context": 3}),
    ("FOO", {"ignore_case": True}),
    ("^foo$", {}),
    (r"fo+\b", {}),
    ("foo$", {}),
    ("foo", {"glob": "*.py"}),
    ("foo", {"glob": "!*.py"}),
    ("foo", {"glob": "src/**/*.py"}),
    ("foo", {"glob": "!src"}),
    ("foo", {"glob": "*.{py,txt}"}),
    ("foo", {"glob": "/top.py"}),
    ("foo", {"glob": "deep/"}),
    ("foo", {"path": "src"}),
    ("foo", {"path": "src", "glob": "*.py"}),
    ("foo", {"path": "src/a.py"}),
    ("foo", {"path": "src/a.py", "glob": "*.txt"}),
    ("foo", {"path": "vendor"}),
    ("foo", {"path": "app.log"}),
    ("foo", {"path": "bin.dat"}),
    ("foo", {"path": "late.txt"}),
    ("foo", {"max_results": 3}),
    ("foo", {"max_results": 3, "context": 2}),
    ("foo", {"path": "many.txt", "max_results": 10}),
    ("foo", {"max_results": 1000}),
    ("nomatch_xyz", {}),
    ("ü|Αθ", {}),
    (r"(?<=def )foo", {}),
    ("foo(", {}),
    ("[", {}),
]


async def _both(ctx: ToolContext, pattern: str, kwargs: dict[str, Any]) -> tuple[ToolResult, ToolResult]:
    params = GrepParams(pattern=pattern, **kwargs)
    with_rg = await run_tool(Grep(use_ripgrep=True), params, ctx)
    without = await run_tool(Grep(use_ripgrep=False), params, ctx)
    return with_rg, without


def test_ripgrep_is_available(ctx: ToolContext) -> None:
    assert ctx.env.which("rg"), "the ripgrep wheel's rg should be found next to the interpreter"


@pytest.mark.parametrize(("pattern", "kwargs"), CASES, ids=[f"{p}-{k}" for p, k in CASES])
async def test_ripgrep_and_fallback_agree(ctx: ToolContext, tree: Path, pattern: str, kwargs: dict[str, Any]) -> None:
    with_rg, without = await _both(ctx, pattern, kwargs)
    assert with_rg.is_error == without.is_error
    if with_rg.is_error:
        assert "Invalid regular expression" in with_rg.output
        assert "Invalid regular expression" in without.output
    else:
        assert with_rg.output == without.output


async def test_ripgrep_is_really_used(ctx: ToolContext, tree: Path) -> None:
    # \p{Greek} is ripgrep syntax that Python's re rejects: only rg can answer.
    with_rg, without = await _both(ctx, r"\p{Greek}", {})
    assert not with_rg.is_error and with_rg.output.startswith("unicode.txt:3:")
    assert without.is_error and "Invalid regular expression" in without.output


async def test_output_format_and_skips(call: Call, tree: Path) -> None:
    result = await call("grep", pattern="foo", path="src", context=1)
    assert result.output == (
        "src/a.py-2-\n"
        "src/a.py:3:def foo():\n"
        "src/a.py:4:    return 'foo'\n"
        "src/a.py-5-\n"
        "--\n"
        "src/b.txt-1-nothing here\n"
        "src/b.txt:2:foo at line 2\n"
        "src/b.txt:3:food\n"
        "src/b.txt-4-fo\n"
        "src/b.txt:5:foo\n"
        "--\n"
        "src/deep/c.py:1:x = 'foo'"
    )
    everything = (await call("grep", pattern="foo", max_results=1000)).output
    skipped_files = ("app.log", "build/", "vendor/", ".git/", "bin.dat", "late.txt", "generated.py", "outside", "link_")
    for skipped in skipped_files:
        assert skipped not in everything
    assert ".env:1:FOO=foo hidden" in everything
    assert "crlf.txt:1:foo\n" in everything and "\r" not in everything
    assert "we:ird.txt:1:foo: colon in name" in everything
    assert everything.index("a/b.txt:") < everything.index("a-b.txt:") < everything.index("a.txt:")
    assert "[line cut: 3004 characters in total]" in everything


async def test_cap_marker_and_no_match(call: Call, tree: Path) -> None:
    capped = await call("grep", pattern="foo", path="many.txt", max_results=5)
    lines = capped.output.split("\n\n")[0].splitlines()
    assert lines == [f"many.txt:{i + 1}:foo {i}" for i in range(5)]
    assert "Showing the first 5 matching lines; there are more" in capped.output
    none = await call("grep", pattern="zzz_nothing", path="src")
    assert not none.is_error and none.output == "No matches for 'zzz_nothing' in src/."


async def test_default_cap_is_the_setting(ctx: ToolContext, tree: Path) -> None:
    ctx.settings.grep_max_results = 7
    result = await run_tool(Grep(), GrepParams(pattern="foo", path="many.txt"), ctx)
    assert result.output.count("many.txt:") == 7 and "there are more" in result.output


async def test_bad_regex_is_a_clear_error(call: Call, tree: Path) -> None:
    result = await call("grep", pattern="foo(")
    assert result.is_error and "Invalid regular expression 'foo('" in result.output


async def test_missing_path(call: Call, tree: Path) -> None:
    result = await call("grep", pattern="foo", path="srcc")
    assert result.is_error and "not found" in result.output and "src" in result.output


async def test_registry_schema_has_all_params(registry: ToolRegistry) -> None:
    props = registry.get("grep").schema()["function"]["parameters"]["properties"]
    assert set(props) == {"pattern", "path", "glob", "context", "ignore_case", "max_results"}
