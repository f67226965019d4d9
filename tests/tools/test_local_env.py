"""LocalEnvironment against a real tmp workspace: confinement, atomic writes, walking, processes."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from kode.runtime.environment import (
    Environment,
    EnvironmentError_,
    NotFound,
    WorkspaceEscape,
)
from kode.runtime.local import LocalEnvironment

from .helpers import write


def test_implements_the_protocol(env: LocalEnvironment) -> None:
    assert isinstance(env, Environment)


def test_root_is_canonical(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert LocalEnvironment(tmp_path / "link").root == str(real.resolve())


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        LocalEnvironment(tmp_path / "missing")


# -- resolve -------------------------------------------------------------------------------------


async def test_resolve_relative_absolute_and_missing(env: LocalEnvironment, ws: Path) -> None:
    write(ws / "a" / "b.txt", "x")
    root = str(ws.resolve())
    assert await env.resolve("a/b.txt") == f"{root}/a/b.txt"
    assert await env.resolve(f"{root}/a/b.txt") == f"{root}/a/b.txt"
    assert await env.resolve(".") == root
    assert await env.resolve("a/./../a/b.txt") == f"{root}/a/b.txt"
    assert await env.resolve("new/deeper/file.txt") == f"{root}/new/deeper/file.txt"
    with pytest.raises(NotFound):
        await env.resolve("new/file.txt", must_exist=True)


async def test_resolve_follows_symlinks_inside(env: LocalEnvironment, ws: Path) -> None:
    write(ws / "real" / "f.txt", "x")
    (ws / "alias").symlink_to("real")
    assert await env.resolve("alias/f.txt") == str((ws / "real" / "f.txt").resolve())


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "~", "~/x", "~root/x"])
async def test_resolve_refuses_malformed(env: LocalEnvironment, bad: str) -> None:
    with pytest.raises(WorkspaceEscape):
        await env.resolve(bad)


async def test_sibling_prefix_is_outside(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    evil = tmp_path / "ws-evil"
    ws.mkdir()
    write(evil / "secret", "s")
    env = LocalEnvironment(ws)
    with pytest.raises(WorkspaceEscape, match="outside the workspace"):
        await env.resolve(str(evil / "secret"))
    with pytest.raises(WorkspaceEscape):
        await env.resolve("../ws-evil/secret")


# -- files ---------------------------------------------------------------------------------------


async def test_write_is_atomic_keeps_mode_and_leaves_no_temp(env: LocalEnvironment, ws: Path) -> None:
    target = write(ws / "script.sh", "old", mode=0o751)
    await env.write_bytes("script.sh", b"new content")
    assert target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert sorted(os.listdir(ws)) == ["script.sh"]


async def test_write_creates_parents_and_uses_umask_mode(env: LocalEnvironment, ws: Path) -> None:
    await env.write_bytes("a/b/c.txt", b"hi")
    path = ws / "a" / "b" / "c.txt"
    assert path.read_bytes() == b"hi"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


async def test_write_through_inside_symlink_writes_target(env: LocalEnvironment, ws: Path) -> None:
    target = write(ws / "real.txt", "old")
    (ws / "link.txt").symlink_to("real.txt")
    await env.write_bytes("link.txt", b"new")
    assert target.read_bytes() == b"new"
    assert (ws / "link.txt").is_symlink()


async def test_write_refuses_directory(env: LocalEnvironment, ws: Path) -> None:
    (ws / "d").mkdir()
    with pytest.raises(EnvironmentError_, match="directory"):
        await env.write_bytes("d", b"x")


async def test_read_bytes_limit_and_errors(env: LocalEnvironment, ws: Path) -> None:
    write(ws / "f.txt", "0123456789")
    assert await env.read_bytes("f.txt") == b"0123456789"
    assert await env.read_bytes("f.txt", limit=4) == b"0123"
    with pytest.raises(NotFound):
        await env.read_bytes("nope.txt")
    (ws / "d").mkdir()
    with pytest.raises(EnvironmentError_, match="directory"):
        await env.read_bytes("d")


async def test_read_refuses_fifo_without_blocking(env: LocalEnvironment, ws: Path) -> None:
    os.mkfifo(ws / "pipe")
    with pytest.raises(EnvironmentError_, match="not a regular file"):
        await asyncio.wait_for(env.read_bytes("pipe"), 2)


async def test_stat_and_list_dir(env: LocalEnvironment, ws: Path, tmp_path: Path) -> None:
    write(ws / "b.txt", "12345")
    (ws / "a").mkdir()
    write(tmp_path / "outside.txt", "secret" * 100)
    (ws / "out_link").symlink_to(tmp_path / "outside.txt")
    st = await env.stat("b.txt")
    assert st is not None and st.is_file and st.size == 5
    assert await env.stat("missing") is None
    entries = {os.path.basename(e.path): e for e in await env.list_dir(".")}
    assert sorted(entries) == ["a", "b.txt", "out_link"]
    assert entries["a"].is_dir
    # A link pointing out is described by itself, never by its target.
    assert not entries["out_link"].is_file and entries["out_link"].size == 0


# -- walk_files ----------------------------------------------------------------------------------


async def test_walk_honours_nested_gitignore_and_skips_git(env: LocalEnvironment, ws: Path) -> None:
    write(ws / ".gitignore", "*.log\nbuild/\n/top-only.txt\n")
    write(ws / "a.py", "")
    write(ws / "debug.log", "")
    write(ws / "top-only.txt", "")
    write(ws / "build" / "out.o", "")
    write(ws / "src" / "top-only.txt", "")
    write(ws / "src" / ".gitignore", "generated/\n!keep.log\n*.tmp\n")
    write(ws / "src" / "keep.log", "")
    write(ws / "src" / "x.tmp", "")
    write(ws / "src" / "generated" / "g.py", "")
    write(ws / "other" / "x.tmp", "")
    write(ws / ".git" / "config", "")
    write(ws / "sub" / ".git", "gitdir: elsewhere")  # a worktree's .git file
    write(ws / ".hidden", "")
    files = await env.walk_files()
    assert files == [
        ".gitignore",
        ".hidden",
        "a.py",
        "other/x.tmp",
        "src/.gitignore",
        "src/keep.log",
        "src/top-only.txt",
    ]
    assert "debug.log" in await env.walk_files(include_ignored=True)
    assert ".git/config" not in await env.walk_files(include_ignored=True)


async def test_walk_subdir_applies_parent_rules_and_named_ignored_dir(env: LocalEnvironment, ws: Path) -> None:
    write(ws / ".gitignore", "*.log\nvendor/\n")
    write(ws / "src" / "a.log", "")
    write(ws / "src" / "a.py", "")
    write(ws / "vendor" / "lib" / "x.js", "")
    assert await env.walk_files("src") == ["src/a.py"]
    # Asking for an ignored directory by name shows it (as ripgrep does).
    assert await env.walk_files("vendor") == ["vendor/lib/x.js"]
    assert await env.walk_files("src/a.py") == ["src/a.py"]


async def test_walk_sorts_by_component(env: LocalEnvironment, ws: Path) -> None:
    for name in ["a.txt", "a/b.txt", "a-b.txt", "B.txt"]:
        write(ws / name, "")
    assert await env.walk_files() == ["B.txt", "a/b.txt", "a-b.txt", "a.txt"]


async def test_walk_does_not_follow_symlinks(env: LocalEnvironment, ws: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside" / "secret.txt", "s")
    write(ws / "real" / "f.txt", "")
    (ws / "out").symlink_to(tmp_path / "outside")
    (ws / "loop").symlink_to(ws)
    (ws / "alias").symlink_to("real")
    (ws / "flink").symlink_to("real/f.txt")
    assert await env.walk_files() == ["real/f.txt"]


# -- which ---------------------------------------------------------------------------------------


def test_which_finds_rg_next_to_the_interpreter(env: LocalEnvironment) -> None:
    found = env.which("rg")
    assert found is not None and os.access(found, os.X_OK)
    assert env.which("definitely-not-a-program-kode") is None
    assert env.which("bash")


def test_which_falls_back_to_interpreter_dir(env: LocalEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    # PATH is process configuration, not an internal: without it, rg is still found beside python.
    monkeypatch.setenv("PATH", "/nonexistent")
    assert env.which("rg") == str(Path(sys.executable).parent / "rg")


# -- run -----------------------------------------------------------------------------------------


async def test_run_interleaves_and_reports_exit_code(env: LocalEnvironment) -> None:
    result = await env.run("echo out; echo err >&2; echo out2; exit 7")
    assert result.exit_code == 7
    assert result.output == "out\nerr\nout2\n"
    assert not result.timed_out and not result.truncated


async def test_run_argv_stdin_and_cwd(env: LocalEnvironment, ws: Path) -> None:
    (ws / "sub").mkdir()
    result = await env.run(["cat"], stdin=b"piped input")
    assert result.output == "piped input"
    result = await env.run(["pwd", "-P"], cwd="sub")
    assert result.output.strip() == str((ws / "sub").resolve())
    assert (await env.run("cat")).output == ""  # stdin is /dev/null: nothing waits
    with pytest.raises(WorkspaceEscape):
        await env.run("true", cwd="..")


async def test_run_child_environment_never_waits_for_a_terminal(env: LocalEnvironment) -> None:
    result = await env.run('echo "$TERM|$PAGER|$GIT_PAGER|$GIT_TERMINAL_PROMPT"')
    assert result.output.strip() == "dumb|cat|cat|0"


async def test_run_streams_chunks_as_they_arrive(env: LocalEnvironment) -> None:
    arrivals: list[tuple[float, str]] = []

    async def on_output(chunk: str) -> None:
        arrivals.append((time.monotonic(), chunk))

    await env.run("echo first; sleep 0.3; echo second", on_output=on_output)
    end = time.monotonic()
    assert "".join(c for _, c in arrivals) == "first\nsecond\n"
    assert arrivals[0][1].startswith("first") and end - arrivals[0][0] >= 0.2


async def test_run_caps_output_keeping_head_and_tail(env: LocalEnvironment) -> None:
    result = await env.run("seq 1 100000", output_limit=1000)
    assert result.truncated
    assert result.output.startswith("1\n2\n3\n")
    assert result.output.endswith("99999\n100000\n")
    total = len("".join(f"{i}\n" for i in range(1, 100001)))
    assert f"... [{total - 1000} characters truncated] ..." in result.output
    assert len(result.output) < 1100


async def test_run_track_cwd_survives_exit(env: LocalEnvironment, ws: Path) -> None:
    (ws / "sub").mkdir()
    result = await env.run("cd sub && exit 4", track_cwd=True)
    assert result.exit_code == 4
    assert result.cwd_after == str((ws / "sub").resolve())
    result = await env.run("cd /", track_cwd=True)
    assert result.cwd_after == "/"
    result = await env.run("set -o noclobber; cd sub", track_cwd=True)
    assert result.cwd_after == str((ws / "sub").resolve())
    assert (await env.run("true", track_cwd=False)).cwd_after is None


async def test_run_returns_although_a_background_process_holds_the_pipe(env: LocalEnvironment) -> None:
    started = time.monotonic()
    result = await env.run("sleep 30 & echo $!")
    assert time.monotonic() - started < 3
    os.kill(int(result.output.strip()), 9)


async def test_run_missing_program(env: LocalEnvironment) -> None:
    with pytest.raises(EnvironmentError_, match="cannot start"):
        await env.run(["/nonexistent/program"])


async def test_gitignore_symlinked_from_outside_is_not_read(env: LocalEnvironment, ws: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside-rules", "*\n")
    write(ws / "sub" / "kept.txt", "")
    (ws / "sub" / ".gitignore").symlink_to(tmp_path / "outside-rules")
    assert await env.walk_files() == ["sub/kept.txt"]
