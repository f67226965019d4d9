"""The Environment contract as test cases: what every `Environment` owes the tools, written once
and run by each implementation against itself (local, SSH, and whatever comes next, such as a
bubblewrap sandbox). A test module subclasses the contracts and provides three fixtures:

    class TestLocalEnvironment(EnvironmentContract): ...   # tests/tools/test_local_env.py
    class TestLocalEscapes(EscapeContract): ...            # tests/tools/test_path_escape.py

- `env`: an opened Environment rooted at a fresh, empty workspace;
- `workspace`: that same directory as a local `Path`. The environment's files must be this
  machine's files (SSH tests log in to 127.0.0.1), so cases set files up and check them with
  plain Python, and check its processes in this machine's /proc;
- `make_env`: `await make_env(root)`, another environment of the same kind rooted at the local
  directory `root`, for cases that need a root of their own (pytest's `tmp_path` is used too).

Async cases run on whatever loop the subclass's module gives them (SSH marks its suites
`pytest.mark.asyncio(loop_scope="module")`, the loop owning its connection).

pytest is only a test dependency, so importing this module never imports it: parametrized cases
carry their values as plain data (`parametrize`), which the contract's `pytest_generate_tests`
hands to pytest; `raises` imports pytest when it is called, and EscapeContract when a test module
subclasses it (to add its class-scoped `fortress` fixture). The classes are named without the
`Test` prefix, so pytest collects them only through a subclass.

The helpers the environment and tool tests share live here too: `write`, `run_tool`,
`tool_caller`, and the process checks (`SPAWNER`, `assert_all_dead`, ...).
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

from kode.runtime.environment import Environment, EnvironmentError_, NotFound, WorkspaceEscape
from kode.testing.contract_support import (
    SPAWNER,
    MakeEnv,
    _Contract,
    assert_all_dead,
    parametrize,
    process_alive,
    raises,
    spawned_pids,
    wait_for,
    write,
)

# -- the contract --------------------------------------------------------------------------------


class EnvironmentContract(_Contract):
    """Paths, files, walking, `which` and `run` (processes included), for any Environment."""

    async def test_implements_the_protocol(self, env: Environment) -> None:
        assert isinstance(env, Environment)

    async def test_root_is_canonical(self, make_env: MakeEnv, tmp_path: Path) -> None:
        real = tmp_path / "real"
        real.mkdir()
        (tmp_path / "link").symlink_to(real)
        assert (await make_env(tmp_path / "link")).root == str(real.resolve())

    async def test_root_must_be_a_directory(self, make_env: MakeEnv, tmp_path: Path) -> None:
        with raises(NotFound, match="not a directory"):
            await make_env(tmp_path / "missing")
        write(tmp_path / "file", "x")
        with raises(NotFound, match="not a directory"):
            await make_env(tmp_path / "file")

    # -- resolve ---------------------------------------------------------------------------------

    async def test_resolve_relative_absolute_and_missing(self, env: Environment, workspace: Path) -> None:
        write(workspace / "a" / "b.txt", "x")
        root = str(workspace.resolve())
        assert await env.resolve("a/b.txt") == f"{root}/a/b.txt"
        assert await env.resolve(f"{root}/a/b.txt") == f"{root}/a/b.txt"
        assert await env.resolve(".") == root
        assert await env.resolve("a/./../a/b.txt") == f"{root}/a/b.txt"
        assert await env.resolve("new/deeper/file.txt") == f"{root}/new/deeper/file.txt"
        assert await env.resolve("new/../a/b.txt") == f"{root}/a/b.txt"
        with raises(NotFound):
            await env.resolve("new/file.txt", must_exist=True)

    async def test_resolve_follows_symlinks_inside(self, env: Environment, workspace: Path) -> None:
        write(workspace / "real" / "f.txt", "x")
        (workspace / "alias").symlink_to("real")
        assert await env.resolve("alias/f.txt") == str((workspace / "real" / "f.txt").resolve())
        # Past a missing directory the canonical path is computed step by step, links still followed.
        assert await env.resolve("missing/../alias/new.txt") == str((workspace / "real" / "new.txt").resolve())

    @parametrize("bad", ["", "   ", "a\x00b", "~", "~/x", "~root/x"])
    async def test_resolve_refuses_malformed(self, env: Environment, bad: str) -> None:
        with raises(WorkspaceEscape):
            await env.resolve(bad)

    async def test_sibling_prefix_is_outside(self, make_env: MakeEnv, tmp_path: Path) -> None:
        ws = tmp_path / "ws"
        evil = tmp_path / "ws-evil"
        ws.mkdir()
        write(evil / "secret", "s")
        env = await make_env(ws)
        with raises(WorkspaceEscape, match="outside the workspace"):
            await env.resolve(str(evil / "secret"))
        with raises(WorkspaceEscape):
            await env.resolve("../ws-evil/secret")

    async def test_dangling_and_looping_links(self, env: Environment, workspace: Path, tmp_path: Path) -> None:
        (workspace / "dangling_out").symlink_to(tmp_path / "not-yet")
        (workspace / "dangling_in").symlink_to("later.txt")
        (workspace / "loop_a").symlink_to("loop_b")
        (workspace / "loop_b").symlink_to("loop_a")
        with raises(WorkspaceEscape):
            await env.resolve("dangling_out")
        assert await env.resolve("dangling_in") == str(workspace.resolve() / "later.txt")
        with raises(EnvironmentError_, match="symbolic links"):
            await env.read_bytes("loop_a")

    # -- files -----------------------------------------------------------------------------------

    async def test_write_is_atomic_keeps_mode_and_leaves_no_temp(self, env: Environment, workspace: Path) -> None:
        target = write(workspace / "script.sh", "old", mode=0o751)
        await env.write_bytes("script.sh", b"new content")
        assert target.read_bytes() == b"new content"
        assert stat.S_IMODE(target.stat().st_mode) == 0o751
        assert sorted(os.listdir(workspace)) == ["script.sh"]

    async def test_write_creates_parents_and_uses_umask_mode(self, env: Environment, workspace: Path) -> None:
        await env.write_bytes("a/b/c.txt", b"hi")
        path = workspace / "a" / "b" / "c.txt"
        assert path.read_bytes() == b"hi"
        umask = int((await env.run("umask")).output.strip(), 8)  # the environment's, not ours
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask

    async def test_write_through_inside_symlink_writes_target(self, env: Environment, workspace: Path) -> None:
        target = write(workspace / "real.txt", "old")
        (workspace / "link.txt").symlink_to("real.txt")
        await env.write_bytes("link.txt", b"new")
        assert target.read_bytes() == b"new"
        assert (workspace / "link.txt").is_symlink()

    async def test_write_refuses_directory(self, env: Environment, workspace: Path) -> None:
        (workspace / "d").mkdir()
        with raises(EnvironmentError_, match="directory"):
            await env.write_bytes("d", b"x")

    async def test_write_large_binary_round_trips(self, env: Environment, workspace: Path) -> None:
        data = os.urandom(3 * 1024 * 1024 + 7)
        await env.write_bytes("big.bin", data)
        assert (workspace / "big.bin").read_bytes() == data
        assert await env.read_bytes("big.bin") == data
        assert await env.read_bytes("big.bin", limit=100_000) == data[:100_000]

    async def test_read_bytes_limit_and_errors(self, env: Environment, workspace: Path) -> None:
        write(workspace / "f.txt", "0123456789")
        assert await env.read_bytes("f.txt") == b"0123456789"
        assert await env.read_bytes("f.txt", limit=4) == b"0123"
        write(workspace / "empty.txt", "")
        assert await env.read_bytes("empty.txt") == b""
        with raises(NotFound):
            await env.read_bytes("nope.txt")
        (workspace / "d").mkdir()
        with raises(EnvironmentError_, match="directory"):
            await env.read_bytes("d")

    async def test_read_refuses_fifo_without_blocking(self, env: Environment, workspace: Path) -> None:
        os.mkfifo(workspace / "pipe")
        with raises(EnvironmentError_, match="not a regular file"):
            await asyncio.wait_for(env.read_bytes("pipe"), 2)

    async def test_stat_and_list_dir(self, env: Environment, workspace: Path, tmp_path: Path) -> None:
        write(workspace / "b.txt", "12345")
        (workspace / "a").mkdir()
        write(tmp_path / "outside.txt", "secret" * 100)
        (workspace / "out_link").symlink_to(tmp_path / "outside.txt")
        (workspace / "in_link").symlink_to("b.txt")
        st = await env.stat("b.txt")
        assert st is not None and st.is_file and st.size == 5 and st.path == str(workspace.resolve() / "b.txt")
        assert abs(st.mtime - (workspace / "b.txt").stat().st_mtime) < 1
        assert await env.stat("missing") is None
        entries = {os.path.basename(e.path): e for e in await env.list_dir(".")}
        assert sorted(entries) == ["a", "b.txt", "in_link", "out_link"]
        assert entries["a"].is_dir
        assert entries["in_link"].is_file and entries["in_link"].size == 5
        # A link pointing out is described by itself, never by its target.
        assert not entries["out_link"].is_file and entries["out_link"].size == 0
        with raises(EnvironmentError_, match="not a directory"):
            await env.list_dir("b.txt")

    # -- walk_files ------------------------------------------------------------------------------

    async def test_walk_honours_nested_gitignore_and_skips_git(self, env: Environment, workspace: Path) -> None:
        ws = workspace
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

    async def test_walk_subdir_applies_parent_rules_and_named_ignored_dir(
        self, env: Environment, workspace: Path
    ) -> None:
        write(workspace / ".gitignore", "*.log\nvendor/\n")
        write(workspace / "src" / "a.log", "")
        write(workspace / "src" / "a.py", "")
        write(workspace / "vendor" / "lib" / "x.js", "")
        assert await env.walk_files("src") == ["src/a.py"]
        # Asking for an ignored directory by name shows it (as ripgrep does).
        assert await env.walk_files("vendor") == ["vendor/lib/x.js"]
        assert await env.walk_files("src/a.py") == ["src/a.py"]
        with raises(NotFound):
            await env.walk_files("nope")

    async def test_walk_sorts_by_component(self, env: Environment, workspace: Path) -> None:
        for name in ["a.txt", "a/b.txt", "a-b.txt", "B.txt"]:
            write(workspace / name, "")
        assert await env.walk_files() == ["B.txt", "a/b.txt", "a-b.txt", "a.txt"]

    async def test_walk_does_not_follow_symlinks(self, env: Environment, workspace: Path, tmp_path: Path) -> None:
        write(tmp_path / "outside" / "secret.txt", "s")
        write(workspace / "real" / "f.txt", "")
        (workspace / "out").symlink_to(tmp_path / "outside")
        (workspace / "loop").symlink_to(workspace)
        (workspace / "alias").symlink_to("real")
        (workspace / "flink").symlink_to("real/f.txt")
        assert await env.walk_files() == ["real/f.txt"]

    async def test_gitignore_symlinked_from_outside_is_not_read(
        self, env: Environment, workspace: Path, tmp_path: Path
    ) -> None:
        write(tmp_path / "outside-rules", "*\n")
        write(workspace / "sub" / "kept.txt", "")
        (workspace / "sub" / ".gitignore").symlink_to(tmp_path / "outside-rules")
        assert await env.walk_files() == ["sub/kept.txt"]

    # -- which -----------------------------------------------------------------------------------

    async def test_which_finds_bash_and_rg(self, env: Environment) -> None:
        bash = env.which("bash")
        assert bash is not None and bash.startswith("/")
        rg = env.which("rg")  # the grep tool's engine: beside the interpreter, or on the PATH
        assert rg is not None and os.access(rg, os.X_OK)
        assert env.which("definitely-not-a-program-kode") is None

    # -- run -------------------------------------------------------------------------------------

    async def test_run_interleaves_and_reports_exit_code(self, env: Environment) -> None:
        result = await env.run("echo out; echo err >&2; echo out2; exit 7")
        assert result.exit_code == 7
        assert result.output == "out\nerr\nout2\n"
        assert not result.timed_out and not result.truncated

    async def test_run_argv_stdin_and_cwd(self, env: Environment, workspace: Path) -> None:
        (workspace / "sub").mkdir()
        result = await env.run(["cat"], stdin=b"piped input")
        assert result.output == "piped input"
        result = await env.run(["pwd", "-P"], cwd="sub")
        assert result.output.strip() == str((workspace / "sub").resolve())
        assert (await env.run(["printf", "%s|", "a b", "$HOME", "'q'"])).output == "a b|$HOME|'q'|"
        assert (await env.run("cat")).output == ""  # no stdin: nothing waits
        with raises(WorkspaceEscape):
            await env.run("true", cwd="..")
        write(workspace / "file.txt", "")
        with raises(EnvironmentError_, match="not a directory"):
            await env.run("true", cwd="file.txt")

    async def test_run_child_environment_never_waits_for_a_terminal(self, env: Environment) -> None:
        result = await env.run('echo "$TERM|$PAGER|$GIT_PAGER|$GIT_TERMINAL_PROMPT"')
        assert result.output.strip() == "dumb|cat|cat|0"

    async def test_run_streams_chunks_as_they_arrive(self, env: Environment) -> None:
        arrivals: list[tuple[float, str]] = []

        async def on_output(chunk: str) -> None:
            arrivals.append((time.monotonic(), chunk))

        await env.run("echo first; sleep 0.3; echo second", on_output=on_output)
        end = time.monotonic()
        assert "".join(c for _, c in arrivals) == "first\nsecond\n"
        assert arrivals[0][1].startswith("first") and end - arrivals[0][0] >= 0.2

    async def test_run_caps_output_keeping_head_and_tail(self, env: Environment) -> None:
        result = await env.run("seq 1 100000", output_limit=1000)
        assert result.truncated
        assert result.output.startswith("1\n2\n3\n")
        assert result.output.endswith("99999\n100000\n")
        total = len("".join(f"{i}\n" for i in range(1, 100001)))
        assert f"... [{total - 1000} characters truncated] ..." in result.output
        assert len(result.output) < 1100

    async def test_run_track_cwd_survives_exit(self, env: Environment, workspace: Path) -> None:
        (workspace / "sub").mkdir()
        result = await env.run("cd sub && exit 4", track_cwd=True)
        assert result.exit_code == 4
        assert result.cwd_after == str((workspace / "sub").resolve())
        result = await env.run("cd /", track_cwd=True)
        assert result.cwd_after == "/"
        result = await env.run("set -o noclobber; cd sub", track_cwd=True)
        assert result.cwd_after == str((workspace / "sub").resolve())
        assert (await env.run("true", track_cwd=False)).cwd_after is None
        assert (await env.run(["true"], track_cwd=True)).cwd_after == str(workspace.resolve())

    async def test_run_returns_although_a_background_process_holds_the_pipe(self, env: Environment) -> None:
        started = time.monotonic()
        result = await env.run("sleep 30 & echo $!")
        assert time.monotonic() - started < 3
        os.kill(int(result.output.strip()), 9)

    async def test_run_missing_program(self, env: Environment, workspace: Path) -> None:
        with raises(EnvironmentError_, match="cannot start"):
            await env.run(["/nonexistent/program"])
        write(workspace / "not-executable", "echo hi")
        with raises(EnvironmentError_, match="Permission denied"):
            await env.run([str(workspace / "not-executable")])

    async def test_run_reports_death_by_signal(self, env: Environment) -> None:
        assert (await env.run("kill -TERM $$")).exit_code == -15

    # -- process groups: timeouts and cancellation leave nothing running ------------------------

    async def test_timeout_kills_the_whole_group(self, env: Environment) -> None:
        seen: list[str] = []
        started = time.monotonic()
        result = await env.run(SPAWNER, timeout=1.0, on_output=seen.append)
        assert time.monotonic() - started < 6
        assert result.timed_out and result.exit_code is None
        assert_all_dead(spawned_pids("".join(seen)))

    async def test_cancellation_kills_the_whole_group(self, env: Environment) -> None:
        seen: list[str] = []
        task = asyncio.create_task(env.run(SPAWNER, on_output=seen.append))
        await wait_for(lambda: {"pg", "child", "grandchild", "stubborn"} <= set(spawned_pids("".join(seen))))
        pids = spawned_pids("".join(seen))
        assert all(process_alive(pid) for pid in pids.values())
        task.cancel()
        with raises(asyncio.CancelledError):
            await task
        # Everything is dead by the time the cancelled task has finished, not eventually.
        assert_all_dead(pids)


