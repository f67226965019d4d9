"""Sub-agent worktrees against real git repos in tmp dirs, through a real LocalEnvironment."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kode.core.worktrees import (
    NO_CHECK_MESSAGE,
    Candidate,
    DiffStat,
    WorktreeError,
    apply_diff,
    cleanup_stale,
    diff_paths,
    diff_stat,
    open_worktree,
    rank,
    remove_worktree,
    run_check,
    worktree_diff,
)
from kode.runtime.local import LocalEnvironment

BINARY = bytes(range(256)) * 4


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, files: dict[str, bytes | str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "commit.gpgSign", "false")
    for name, content in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def snapshot(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file below root except .git (and ignored .venv), with its content and exec bit."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".venv")]
        for name in filenames:
            if name == ".git":  # a worktree's pointer to its repository
                continue
            p = Path(dirpath, name)
            found[p.relative_to(root).as_posix()] = (p.read_bytes(), os.access(p, os.X_OK))
    return found


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "ws",
        {
            "a.txt": "one\ntwo\nthree\n",
            "gone.txt": "delete me\n",
            "blob.bin": BINARY,
            "latin.txt": "caf\xe9\n".encode("latin-1"),
            "pkg/mod.py": "X = 1\n",
            ".gitignore": "*.log\n.venv/\n",
        },
    )


def run(coro):
    return asyncio.run(coro)


def test_open_on_a_clean_repo_mirrors_head_and_remove_leaves_nothing(repo: Path) -> None:
    env = LocalEnvironment(repo)

    async def go():
        wt = await open_worktree(env, child_id="c1")
        head = git(repo, "rev-parse", "HEAD").strip()
        assert wt.base == head  # nothing uncommitted: no snapshot commit needed
        assert wt.branch == "kode/c1" and wt.child_id == "c1"
        assert os.path.isabs(wt.path) and wt.path == str((repo / ".git" / "kode-worktrees" / "c1").resolve())
        assert wt.workdir == wt.path
        assert snapshot(Path(wt.path)) == snapshot(repo)
        assert git(repo, "status", "--porcelain") == ""  # the parent's workspace is unaffected
        await remove_worktree(env, wt)
        await remove_worktree(env, wt)  # idempotent
        assert not os.path.exists(wt.path)
        assert wt.path not in git(repo, "worktree", "list")
        assert git(repo, "branch", "--list", "kode/*") == ""

    run(go())


def test_open_on_a_dirty_repo_sees_the_workspace_exactly(repo: Path) -> None:
    (repo / "a.txt").write_text("one\nTWO (edited)\nthree\n")
    (repo / "gone.txt").unlink()
    (repo / "new.txt").write_text("untracked\n")
    (repo / "pkg" / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "pkg" / "tool.sh").chmod(0o755)
    (repo / "debug.log").write_text("ignored\n")
    git(repo, "add", "pkg/tool.sh")  # staged only: must be seen too
    status_before = git(repo, "status", "--porcelain")
    index_before = (repo / ".git" / "index").read_bytes()
    env = LocalEnvironment(repo)

    async def go():
        wt = await open_worktree(env, child_id="dirty")
        try:
            expected = {k: v for k, v in snapshot(repo).items() if k != "debug.log"}
            assert snapshot(Path(wt.path)) == expected
            assert not (Path(wt.path) / "debug.log").exists()  # ignored files are not copied
            assert git(Path(wt.path), "status", "--porcelain") == ""  # the child starts clean
            assert wt.base != git(repo, "rev-parse", "HEAD").strip()
        finally:
            await remove_worktree(env, wt)

    run(go())
    assert git(repo, "status", "--porcelain") == status_before
    assert (repo / ".git" / "index").read_bytes() == index_before


def test_a_repo_without_commits_and_a_custom_base_dir(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    (root / "first.txt").write_text("not committed yet\n")
    env = LocalEnvironment(root)

    async def go():
        wt = await open_worktree(env, child_id="c1", base_dir=str(tmp_path / "wts"))
        try:
            assert wt.path == str(tmp_path / "wts" / "c1")
            assert (Path(wt.path) / "first.txt").read_text() == "not committed yet\n"
            (Path(wt.path) / "first.txt").write_text("edited by the child\n")
            assert (await apply_diff(env, await worktree_diff(env, wt))).ok
        finally:
            await remove_worktree(env, wt)
        assert not (tmp_path / "wts" / "c1").exists()
        assert (root / "first.txt").read_text() == "edited by the child\n"

    run(go())


def test_a_directory_that_is_not_a_repo_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorktreeError, match="needs a git repository"):
        run(open_worktree(LocalEnvironment(plain), child_id="c1"))


def test_a_bad_child_id_is_refused(repo: Path) -> None:
    with pytest.raises(WorktreeError, match="cannot name a branch"):
        run(open_worktree(LocalEnvironment(repo), child_id="../evil"))


def test_edits_diff_and_apply_reproduce_the_worktree_exactly(repo: Path) -> None:
    (repo / "a.txt").write_text("one\ntwo\nthree\nfour (parent, uncommitted)\n")
    (repo / "scratch.txt").write_text("parent's untracked file\n")
    env = LocalEnvironment(repo)

    async def go():
        wt = await open_worktree(env, child_id="edit")
        try:
            w = Path(wt.path)
            (w / "a.txt").write_text("one\n2\nthree\nfour (parent, uncommitted)\n")
            (w / "gone.txt").unlink()
            (w / "scratch.txt").unlink()
            (w / "blob.bin").write_bytes(BINARY[::-1])
            (w / "new.bin").write_bytes(b"\x00\xff\x00kode")
            (w / "latin.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
            (w / "pkg" / "run.sh").write_text("#!/bin/sh\n")
            (w / "pkg" / "run.sh").chmod(0o755)
            (w / "dir with space").mkdir()
            (w / "dir with space" / "ünï.txt").write_text("hello\n")
            (w / "x.log").write_text("ignored output\n")
            git(w, "add", "-A")
            git(w, "commit", "-q", "-m", "child commits some of its work")
            (w / "pkg" / "mod.py").write_text("X = 2\n")  # and leaves some uncommitted

            before = snapshot(repo)
            diff = await worktree_diff(env, wt)
            assert snapshot(repo) == before  # taking the diff does not touch the workspace
            assert sorted(diff_paths(diff)) == sorted(
                ["a.txt", "blob.bin", "dir with space/ünï.txt", "gone.txt", "latin.txt", "new.bin",
                 "pkg/mod.py", "pkg/run.sh", "scratch.txt"]
            )  # fmt: skip
            assert "GIT binary patch" in diff
            stat = diff_stat(diff)
            assert stat.files == 9 and stat.added >= 5 and stat.removed >= 5

            result = await apply_diff(env, diff)
            assert result.ok, result.message
            expected = {k: v for k, v in snapshot(w).items() if k != "x.log"}
            assert {k: v for k, v in snapshot(repo).items() if k != "x.log"} == expected
        finally:
            await remove_worktree(env, wt)

    run(go())


def test_a_conflict_is_reported_and_nothing_is_applied(repo: Path) -> None:
    env = LocalEnvironment(repo)

    async def go():
        wt = await open_worktree(env, child_id="conflict")
        try:
            w = Path(wt.path)
            (w / "a.txt").write_text("one\nchild\nthree\n")
            (w / "pkg" / "mod.py").write_text("X = 'child'\n")  # would apply cleanly on its own
            (w / "added.txt").write_text("new\n")
            diff = await worktree_diff(env, wt)
        finally:
            await remove_worktree(env, wt)
        (repo / "a.txt").write_text("one\nparent\nthree\n")  # the parent changed the same line
        (repo / "added.txt").write_text("the parent's own\n")  # and made the same new file
        before = snapshot(repo)
        result = await apply_diff(env, diff)
        assert not result.ok
        assert result.conflicts == ["a.txt", "added.txt"]
        assert "a.txt" in result.message and "\n" not in result.message
        assert snapshot(repo) == before  # no partial apply, no conflict markers

    run(go())


def test_apply_of_an_empty_diff_is_a_no_op(repo: Path) -> None:
    env = LocalEnvironment(repo)

    async def go():
        wt = await open_worktree(env, child_id="idle")
        try:
            diff = await worktree_diff(env, wt)
        finally:
            await remove_worktree(env, wt)
        assert diff == ""
        assert diff_stat(diff) == DiffStat(0, 0, 0)
        assert (await apply_diff(env, diff)).ok

    run(go())


def test_a_workspace_below_the_repo_top_gets_only_its_own_changes(repo: Path) -> None:
    env = LocalEnvironment(repo / "pkg")

    async def go():
        wt = await open_worktree(env, child_id="sub")
        try:
            assert wt.prefix == "pkg/" and wt.workdir == wt.path + "/pkg"
            (Path(wt.workdir) / "mod.py").write_text("X = 3\n")
            (Path(wt.path) / "a.txt").write_text("outside the workspace\n")
            diff = await worktree_diff(env, wt)
            assert diff_paths(diff) == ["pkg/mod.py"]
            assert (await apply_diff(env, diff)).ok
        finally:
            await remove_worktree(env, wt)
        assert (repo / "pkg" / "mod.py").read_text() == "X = 3\n"
        assert (repo / "a.txt").read_text() == "one\ntwo\nthree\n"

    run(go())


def test_concurrent_children_and_cleanup_of_stale_ones(repo: Path) -> None:
    (repo / "a.txt").write_text("dirty\n")
    env = LocalEnvironment(repo)

    async def go():
        wts = await asyncio.gather(*(open_worktree(env, child_id=f"n{i}") for i in range(6)))
        assert len({wt.path for wt in wts}) == 6
        assert all((Path(wt.path) / "a.txt").read_text() == "dirty\n" for wt in wts)
        assert all(git(Path(wt.path), "status", "--porcelain") == "" for wt in wts)
        with pytest.raises(WorktreeError, match="already exists"):
            await open_worktree(env, child_id="n0")
        removed = await cleanup_stale(env, keep={"n3"})
        assert removed == ["n0", "n1", "n2", "n4", "n5"]
        assert git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/kode/").split() == ["kode/n3"]
        assert await cleanup_stale(env) == ["n3"]
        assert git(repo, "branch", "--list", "kode/*") == ""
        assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
        assert not any((repo / ".git" / "kode-worktrees").iterdir())

    run(go())


def test_cleanup_spares_children_of_another_live_kode_and_takes_crash_leftovers(repo: Path) -> None:
    env = LocalEnvironment(repo)
    other = subprocess.Popen(["sleep", "30"])  # stands in for another kode process

    async def go():
        wt = await open_worktree(env, child_id="theirs")
        git(repo, "worktree", "unlock", wt.path)
        git(
            repo, "worktree", "lock", "--reason", f"kode sub-agent pid={other.pid} host={socket.gethostname()}", wt.path
        )
        (repo / ".git" / "kode-worktrees" / "stray").mkdir()  # a crash between mkdir and add
        git(repo, "branch", "kode/orphan")  # a crash after removing the worktree
        assert await cleanup_stale(env) == ["orphan", "stray"]
        assert os.path.isdir(wt.path)
        other.kill()
        other.wait()
        assert await cleanup_stale(env) == ["theirs"]
        assert not os.path.exists(wt.path)
        assert git(repo, "for-each-ref", "refs/heads/kode/") == ""

    try:
        run(go())
    finally:
        other.kill()
        other.wait()


# -- checks ----------------------------------------------------------------------------------


def _python_project(tmp_path: Path, test_body: str) -> Path:
    root = make_repo(
        tmp_path / "py",
        {
            "pyproject.toml": "[project]\nname = 'demo'\nversion = '0'\n",
            "src/demo/__init__.py": "def answer():\n    return 42\n",
            "tests/test_demo.py": f"from demo import answer\n\n\ndef test_answer():\n    {test_body}\n",
            ".gitignore": ".venv/\n",
        },
    )
    # The workspace's own virtualenv (ignored, so absent from the worktree) must be the one used.
    venv_python = root / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    venv_python.chmod(0o755)
    return root


@pytest.mark.parametrize(("body", "passed"), [("assert answer() == 42", True), ("assert answer() == 0", False)])
def test_run_check_detects_pytest(tmp_path: Path, body: str, passed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the inner pytest starts in a second, not four
    root = _python_project(tmp_path, body)
    env = LocalEnvironment(root)

    async def go():
        wt = await open_worktree(env, child_id="chk")
        try:
            result = await run_check(env, wt, None, timeout=60)
            assert result.passed is passed, result.output
            assert result.exit_code == (0 if passed else 1)
            assert result.command and "-m pytest -q" in result.command and ".venv/bin/python" in result.command
            assert result.duration > 0 and len(result.output.splitlines()) <= 40
            assert await worktree_diff(env, wt) == ""  # the check left nothing behind
        finally:
            await remove_worktree(env, wt)

    run(go())


def test_run_check_without_a_project_and_with_an_explicit_command(repo: Path) -> None:
    (repo / "tests").mkdir()  # a tests dir without Python files does not mean pytest
    env = LocalEnvironment(repo)

    async def go():
        wt = await open_worktree(env, child_id="none")
        try:
            none = await run_check(env, wt, None, timeout=10)
            assert none.passed is None and none.exit_code is None and none.output == NO_CHECK_MESSAGE
            explicit = await run_check(env, wt, "pwd; printf 'line %s\\n' $(seq 1 100); exit 3", timeout=10)
            assert explicit.passed is False and explicit.exit_code == 3
            lines = explicit.output.splitlines()
            assert len(lines) == 40 and lines[-1] == "line 100"
            ok = await run_check(env, wt, "test -f a.txt && pwd -P", timeout=10)
            assert ok.passed is True and ok.output.strip() == os.path.realpath(wt.path)
            slow = await run_check(env, wt, "sleep 5", timeout=0.3)
            assert slow.passed is False and slow.timed_out and slow.exit_code is None
        finally:
            await remove_worktree(env, wt)

    run(go())


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"package.json": '{"scripts": {"test": "jest"}}'}, "npm test --silent"),
        ({"package.json": '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'}, None),
        ({"go.mod": "module x\n"}, "go test ./..."),
        ({"Cargo.toml": "[package]\n"}, "cargo test"),
        ({"Makefile": "build:\n\ttrue\ntest: build\n\ttrue\n"}, "make test"),
        ({"Makefile": "build:\n\ttrue\n"}, None),
    ],
)
def test_check_command_detection(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    from kode.core.worktrees import detect_check_command

    root = make_repo(tmp_path / "proj", files)
    env = LocalEnvironment(root)

    async def go():
        wt = await open_worktree(env, child_id="det")
        try:
            return await detect_check_command(env, wt)
        finally:
            await remove_worktree(env, wt)

    assert run(go()) == expected


def test_rank_orders_passed_unknown_failed_then_smaller_then_cheaper() -> None:
    def c(cid: str, passed: bool | None, lines: int, cost: float = 0.0) -> Candidate:
        return Candidate(cid, passed, DiffStat(1 if lines else 0, lines, 0), cost)

    results = [
        c("fail-small", False, 1),
        c("unknown", None, 10),
        c("pass-big", True, 50),
        c("pass-small-pricey", True, 5, cost=2.0),
        c("pass-small-cheap", True, 5, cost=1.0),
        c("pass-empty", True, 0),
        c("fail-big", False, 100),
    ]
    assert [r.child_id for r in rank(results)] == [
        "pass-small-cheap", "pass-small-pricey", "pass-big", "pass-empty", "unknown", "fail-small", "fail-big",
    ]  # fmt: skip
    assert rank([]) == []
