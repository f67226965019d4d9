"""read_file, write_file and edit_file on real files."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from kode.tools.base import ToolContext, ToolSettings

from .helpers import Call, write


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- read_file -----------------------------------------------------------------------------------


async def test_read_numbers_lines_and_records_hash(call: Call, ctx: ToolContext, ws: Path) -> None:
    path = write(ws / "a.py", "one\ntwo\r\nthree")
    result = await call("read_file", path="a.py")
    assert not result.is_error
    assert result.output == "     1\tone\n     2\ttwo\n     3\tthree"
    assert ctx.state.file_hashes[str(path.resolve())] == sha(path.read_bytes())


async def test_read_offset_and_limit_with_continuation_note(call: Call, ws: Path) -> None:
    write(ws / "f.txt", "".join(f"line {i}\n" for i in range(1, 11)))
    result = await call("read_file", path="f.txt", offset=3, limit=2)
    assert result.output.startswith("     3\tline 3\n     4\tline 4\n")
    assert "Showing lines 3-4 of 10" in result.output and "offset=5" in result.output
    last = await call("read_file", path="f.txt", offset=9)
    assert last.output == "     9\tline 9\n    10\tline 10"
    past = await call("read_file", path="f.txt", offset=50)
    assert past.is_error and "past the end" in past.output and "10 lines" in past.output


async def test_read_default_line_limit(call: Call, ws: Path, settings: ToolSettings) -> None:
    settings.read_default_lines = 5
    write(ws / "f.txt", "x\n" * 20)
    result = await call("read_file", path="f.txt")
    assert result.output.count("\tx") == 5
    assert "Showing lines 1-5 of 20" in result.output and "offset=6" in result.output


async def test_read_cuts_long_lines(call: Call, ws: Path) -> None:
    write(ws / "min.js", "a" * 5000 + "\nshort\n")
    result = await call("read_file", path="min.js")
    first = result.output.splitlines()[0]
    assert len(first) < 2100 and "line cut: 5000 characters" in first
    assert "\tshort" in result.output


async def test_read_large_file_shows_beginning_and_says_how_to_page(
    call: Call, ws: Path, settings: ToolSettings
) -> None:
    settings.read_max_bytes = 1000
    write(ws / "big.txt", "".join(f"row {i}\n" for i in range(1000)))
    result = await call("read_file", path="big.txt")
    assert not result.is_error
    assert result.output.startswith("     1\trow 0\n")
    assert "large file" in result.output and "offset=" in result.output
    assert len(result.output) < 1500
    ranged = await call("read_file", path="big.txt", offset=900, limit=3)
    assert ranged.output.startswith("   900\trow 899\n") and "large file" not in ranged.output


async def test_read_refuses_binary_with_size_and_type(call: Call, ws: Path) -> None:
    write(ws / "img.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    result = await call("read_file", path="img.png")
    assert result.is_error
    assert "binary" in result.output and "PNG image" in result.output and "bytes" in result.output


async def test_read_directory_suggests_list(call: Call, ws: Path) -> None:
    (ws / "src").mkdir()
    result = await call("read_file", path="src")
    assert result.is_error and "directory" in result.output and "`list`" in result.output


async def test_read_missing_suggests_similar_names(call: Call, ws: Path) -> None:
    write(ws / "src" / "config.py", "")
    result = await call("read_file", path="src/confg.py")
    assert result.is_error and "not found" in result.output and "src/config.py" in result.output
    nothing = await call("read_file", path="nowhere/x.py")
    assert nothing.is_error and "not found" in nothing.output


async def test_read_empty_file(call: Call, ws: Path) -> None:
    write(ws / "e.txt", "")
    result = await call("read_file", path="e.txt")
    assert not result.is_error and "empty" in result.output


# -- write_file ----------------------------------------------------------------------------------


async def test_write_creates_with_diff_from_dev_null(call: Call, ctx: ToolContext, ws: Path) -> None:
    result = await call("write_file", path="pkg/new.py", content="a\nb\n")
    path = ws / "pkg" / "new.py"
    assert path.read_text() == "a\nb\n"
    assert "Created pkg/new.py (2 lines)" in result.output
    assert result.display is not None and result.display["path"] == "pkg/new.py"
    assert result.display["diff"].startswith("--- /dev/null\n+++ b/pkg/new.py\n")
    assert "+a\n+b\n" in result.display["diff"]
    assert ctx.state.file_hashes[str(path.resolve())] == sha(b"a\nb\n")


async def test_write_overwrites_keeping_mode_atomically(call: Call, ws: Path) -> None:
    path = write(ws / "run.sh", "echo old\n", mode=0o750)
    result = await call("write_file", path="run.sh", content="echo new\necho two\n")
    assert "Overwrote run.sh (2 lines; it had 1)" in result.output
    assert path.read_text() == "echo new\necho two\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert os.listdir(ws) == ["run.sh"]  # no temp file left behind
    assert "-echo old\n+echo new\n+echo two\n" in result.display["diff"]  # type: ignore[index]


async def test_write_to_directory_is_an_error(call: Call, ws: Path) -> None:
    (ws / "d").mkdir()
    result = await call("write_file", path="d", content="x")
    assert result.is_error and "directory" in result.output


# -- edit_file -----------------------------------------------------------------------------------


async def test_edit_applies_edits_in_order(call: Call, ctx: ToolContext, ws: Path) -> None:
    path = write(ws / "m.py", "def f():\n    return 1\n\nx = f()\n")
    await call("read_file", path="m.py")
    result = await call(
        "edit_file",
        path="m.py",
        edits=[
            {"old_text": "return 1", "new_text": "return 2"},
            {"old_text": "return 2", "new_text": "return 3"},
            {"old_text": "x = f()", "new_text": "y = f()"},
        ],
    )
    assert not result.is_error, result.output
    assert path.read_text() == "def f():\n    return 3\n\ny = f()\n"
    assert "3 edits" in result.output
    assert result.display is not None and "-    return 1\n+    return 3\n" in result.display["diff"]
    assert ctx.state.file_hashes[str(path.resolve())] == sha(path.read_bytes())


async def test_edit_is_all_or_nothing(call: Call, ws: Path) -> None:
    path = write(ws / "m.txt", "alpha\nbeta\n")
    result = await call(
        "edit_file",
        path="m.txt",
        edits=[{"old_text": "alpha", "new_text": "ALPHA"}, {"old_text": "gamma", "new_text": "GAMMA"}],
    )
    assert result.is_error
    assert "Edit 2 of 2" in result.output and "not found" in result.output and "No changes were made" in result.output
    assert path.read_text() == "alpha\nbeta\n"


async def test_edit_missing_text_hints_at_whitespace(call: Call, ws: Path) -> None:
    write(ws / "m.py", "def f():\n    return 1\n")
    result = await call("edit_file", path="m.py", edits=[{"old_text": "def f():\n  return 1", "new_text": "x"}])
    assert result.is_error and "not found" in result.output and "whitespace" in result.output


async def test_edit_missing_text_hints_at_line_numbers(call: Call, ws: Path) -> None:
    write(ws / "m.py", "a = 1\n")
    result = await call("edit_file", path="m.py", edits=[{"old_text": "     1\ta = 1", "new_text": "a = 2"}])
    assert result.is_error and "line-number prefixes" in result.output


async def test_edit_non_unique_needs_context_or_replace_all(call: Call, ws: Path) -> None:
    path = write(ws / "m.py", "x = 1\nx = 1\nx = 1\n")
    result = await call("edit_file", path="m.py", edits=[{"old_text": "x = 1", "new_text": "x = 2"}])
    assert result.is_error and "matches 3 places" in result.output and "replace_all" in result.output
    assert path.read_text() == "x = 1\nx = 1\nx = 1\n"
    edit = {"old_text": "x = 1", "new_text": "x = 2", "replace_all": True}
    result = await call("edit_file", path="m.py", edits=[edit])
    assert not result.is_error and "3 replacements" in result.output
    assert path.read_text() == "x = 2\nx = 2\nx = 2\n"


async def test_edit_identical_and_empty_old_text(call: Call, ws: Path) -> None:
    write(ws / "m.py", "a\n")
    same = await call("edit_file", path="m.py", edits=[{"old_text": "a", "new_text": "a"}])
    assert same.is_error and "identical" in same.output
    empty = await call("edit_file", path="m.py", edits=[{"old_text": "", "new_text": "b"}])
    assert empty.is_error and "empty" in empty.output


async def test_edit_requires_at_least_one_edit(registry) -> None:  # type: ignore[no-untyped-def]
    from kode.tools.base import InvalidArguments

    with pytest.raises(InvalidArguments, match="edits"):
        registry.parse("edit_file", {"path": "m.py", "edits": []})


async def test_edit_refuses_file_changed_on_disk_since_read(call: Call, ws: Path) -> None:
    path = write(ws / "m.py", "v = 1\n")
    await call("read_file", path="m.py")
    path.write_text("v = 1\nchanged = True\n")  # someone else edits it
    result = await call("edit_file", path="m.py", edits=[{"old_text": "v = 1", "new_text": "v = 2"}])
    assert result.is_error and "changed on disk" in result.output and "read_file" in result.output
    assert path.read_text() == "v = 1\nchanged = True\n"
    await call("read_file", path="m.py")
    again = await call("edit_file", path="m.py", edits=[{"old_text": "v = 1", "new_text": "v = 2"}])
    assert not again.is_error
    assert path.read_text() == "v = 2\nchanged = True\n"


async def test_edit_after_own_write_and_edit_is_allowed(call: Call, ws: Path) -> None:
    await call("write_file", path="m.py", content="a = 1\n")
    assert not (await call("edit_file", path="m.py", edits=[{"old_text": "a = 1", "new_text": "a = 2"}])).is_error
    assert not (await call("edit_file", path="m.py", edits=[{"old_text": "a = 2", "new_text": "a = 3"}])).is_error
    assert (ws / "m.py").read_text() == "a = 3\n"


async def test_edit_of_never_read_file_is_allowed(call: Call, ws: Path) -> None:
    path = write(ws / "m.py", "a = 1\n")
    result = await call("edit_file", path="m.py", edits=[{"old_text": "a = 1", "new_text": "a = 2"}])
    assert not result.is_error and path.read_text() == "a = 2\n"


async def test_edit_preserves_crlf_and_mode(call: Call, ws: Path) -> None:
    path = write(ws / "win.bat", b"@echo off\r\nset A=1\r\nset B=2\r\n", mode=0o755)
    read = await call("read_file", path="win.bat")
    assert "\r" not in read.output
    result = await call(
        "edit_file", path="win.bat", edits=[{"old_text": "set A=1\nset B=2", "new_text": "set A=3\nset B=4\nset C=5"}]
    )
    assert not result.is_error, result.output
    assert path.read_bytes() == b"@echo off\r\nset A=3\r\nset B=4\r\nset C=5\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert sorted(os.listdir(ws)) == ["win.bat"]
    assert "\r" not in result.display["diff"]  # type: ignore[index]


async def test_edit_keeps_lf_file_lf_and_undecodable_bytes(call: Call, ws: Path) -> None:
    path = write(ws / "m.txt", b"caf\xe9 latin1\nkeep\n")
    result = await call("edit_file", path="m.txt", edits=[{"old_text": "keep", "new_text": "kept"}])
    assert not result.is_error
    assert path.read_bytes() == b"caf\xe9 latin1\nkept\n"


async def test_edit_missing_file_and_binary(call: Call, ws: Path) -> None:
    missing = await call("edit_file", path="nope.py", edits=[{"old_text": "a", "new_text": "b"}])
    assert missing.is_error and "write_file" in missing.output
    write(ws / "b.bin", b"\x00\x01\x02")
    binary = await call("edit_file", path="b.bin", edits=[{"old_text": "a", "new_text": "b"}])
    assert binary.is_error and "binary" in binary.output
