"""The path-escape corpus as a contract: every way out of the workspace a tool or an
Environment method might be tricked into, refused by each implementation (see
kode.testing.environment_contract)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kode.runtime.environment import Environment, WorkspaceEscape
from kode.tools.base import ToolResult

if TYPE_CHECKING:
    import pytest

from kode.testing.contract_support import (
    Call,
    MakeEnv,
    _Contract,
    parametrize,
    raises,
    tool_caller,
    write,
)

# -- the escape corpus ---------------------------------------------------------------------------

SECRET = f"TOPSECRET-{uuid.uuid4().hex}"
PASSWD_MARK = "root:x:0:0"
STRAY = f"/tmp/kode-escape-{uuid.uuid4().hex}.txt"
"""An absolute path outside everything; it must never come to exist."""

# Paths (relative to the workspace unless absolute) that must be refused. `{T}` is the tmp dir
# holding the workspace `{T}/ws`, its sibling `{T}/ws-evil` and `{T}/outside`.
READ_ESCAPES = [
    "..",
    "../",
    "../..",
    "../outside/secret.txt",
    "../" * 12 + "etc/passwd",
    "sub/../../outside/secret.txt",
    "./../outside/secret.txt",
    "sub/./../../outside/secret.txt",
    "sub//..//..//outside/secret.txt",
    "a.txt/../../outside/secret.txt",
    "sub/deep/../../../outside",
    "../ws-evil/secret.txt",
    "../ws/../outside/secret.txt",
    "/etc/passwd",
    "/etc",
    "/",
    "//etc/passwd",
    "/./etc/passwd",
    "/proc/self/root/etc/passwd",
    "/proc/self/cwd",
    "{T}",
    "{T}/outside/secret.txt",
    "{T}/ws/../outside/secret.txt",
    "{T}/ws-evil",
    "{T}/ws-evil/secret.txt",
    "ln_file_out",
    "ln_file_rel",
    "ln_dir_out",
    "ln_dir_out/",
    "ln_dir_out/secret.txt",
    "sub/ln_up",
    "sub/ln_up/secret.txt",
    "sub/deep/ln_far",
    "chain1",
    "dchain1",
    "dchain1/secret.txt",
    "inner_loop/secret.txt",
    "ln_abs_etc/passwd",
    "ln_parent",
    "ln_parent/outside/secret.txt",
    "ln_root/etc/passwd",
    "ln_proc/etc/passwd",
    "ln_evil/secret.txt",
    "ln_dangling",
    "~",
    "~/",
    "~/.bashrc",
    "~root/.ssh/id_rsa",
    "a.txt\x00../../outside/secret.txt",
    "\x00",
    "",
]

WRITE_ESCAPES = [
    "../outside/new.txt",
    "../outside/secret.txt",
    "../ws-evil/secret.txt",
    "../ws-evil/new.txt",
    "../root_new.txt",
    "sub/../../root_new.txt",
    "../" * 12 + STRAY.lstrip("/"),
    STRAY,
    "{T}/outside/new.txt",
    "{T}/root_new.txt",
    "{T}/ws-evil/new.txt",
    "ln_file_out",
    "ln_file_rel",
    "chain1",
    "ln_dir_out/new.txt",
    "ln_dir_out/secret.txt",
    "ln_dir_out/newdir/new.txt",
    "dchain1/new.txt",
    "sub/ln_up/new.txt",
    "sub/ln_up/newdir/deeper/new.txt",
    "sub/deep/ln_far",
    "inner_loop/new.txt",
    "ln_dangling",
    "ln_parent/root_new.txt",
    "ln_parent/outside/secret.txt",
    "ln_root" + STRAY,
    "ln_proc" + STRAY,
    "ln_evil/new.txt",
    "~/kode-escape.txt",
    "",
    "\x00x",
]

GLOB_PATTERN_ESCAPES = [
    "../*",
    "../**/*",
    "../outside/*",
    "./../*",
    "**/../../*",
    "sub/../../*",
    "sub/../../outside/*.txt",
    "../ws-evil/*",
    "/etc/*",
    "/etc/**",
    "/*",
    "/**/*.txt",
    "{T}/outside/*",
    "{T}/**/*",
    "{T}/ws-evil/*",
    "~/*",
    "~root/*",
]

GREP_GLOB_ESCAPES = ["../*", "../outside/*", "**/../../*", "~/*", "!../*"]

# Names that only look like escapes. They are ordinary (missing) names inside the workspace.
ENCODED_NAMES = [
    "%2e%2e/outside/secret.txt",
    "..%2f..%2foutside%2fsecret.txt",
    "%252e%252e/outside",
    "....//outside/secret.txt",
    "..\\..\\outside\\secret.txt",
    "\u2025/outside/secret.txt",  # two-dot leader
    "\uff0e\uff0e/outside/secret.txt",  # fullwidth dots
    "..;/outside/secret.txt",
    ". ./outside/secret.txt",
]

READ_TOOLS = ["read_file", "edit_file", "list", "glob", "grep"]

ENV_READ_METHODS = ["resolve", "stat", "read_bytes", "list_dir", "walk_files", "run_cwd"]


def _arguments(tool: str, path: str) -> dict[str, Any]:
    if tool == "read_file":
        return {"path": path}
    if tool == "edit_file":
        return {"path": path, "edits": [{"old_text": "TOPSECRET", "new_text": "PWNED"}]}
    if tool == "list":
        return {"path": path, "depth": 3}
    if tool == "glob":
        return {"pattern": "**/*", "path": path}
    if tool == "grep":
        return {"pattern": "TOPSECRET|root:", "path": path}
    raise AssertionError(tool)


def _snapshot(top: Path, skip: Path) -> dict[str, tuple[Any, ...]]:
    """Everything under `top` except `skip`: type, content hash or link target, mode, mtime."""
    state: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path == skip:
                continue
            st = path.lstat()
            if path.is_symlink():
                state[str(path)] = ("link", os.readlink(path))
            elif path.is_file():
                state[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mode, st.st_mtime_ns)
            else:
                state[str(path)] = ("dir", st.st_mode)
    return state


class Fortress:
    """A workspace `{T}/ws` full of links pointing out, beside secrets in `{T}/outside`, a sibling
    `{T}/ws-evil` and `{T}/root_secret.txt`; it remembers everything outside the workspace."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ws = tmp / "ws"
        self.ws.mkdir(parents=True)
        outside = tmp / "outside"
        write(outside / "secret.txt", f"{SECRET}\n")
        write(outside / "editme.txt", f"{SECRET} edit me\n")
        write(tmp / "ws-evil" / "secret.txt", f"{SECRET} evil twin\n")
        write(tmp / "root_secret.txt", f"{SECRET} beside the workspace\n")
        ws = self.ws
        write(ws / "a.txt", "inside\n")
        write(ws / "sub" / "b.txt", "inside too\n")
        (ws / "sub" / "deep").mkdir()
        links = {
            "ln_file_out": str(outside / "secret.txt"),
            "ln_file_rel": "../outside/secret.txt",
            "ln_dir_out": "../outside",
            "ln_abs_etc": "/etc",
            "ln_parent": "..",
            "ln_root": "/",
            "ln_proc": "/proc/self/root",
            "ln_evil": str(tmp / "ws-evil"),
            "ln_dangling": "../outside/not_yet.txt",
            "chain1": "chain2",
            "chain2": "chain3",
            "chain3": "../outside/secret.txt",
            "dchain1": "dchain2",
            "dchain2": "../outside",
            "sub/ln_up": "../../outside",
            "sub/deep/ln_far": "../../../outside/secret.txt",
            "inner_loop": "sub/ln_up",
            "ln_inside": "sub",
        }
        for name, target in links.items():
            (ws / name).symlink_to(target)
        self.before = _snapshot(tmp, ws)

    def expand(self, path: str) -> str:
        return path.replace("{T}", str(self.tmp))

    def assert_untouched(self) -> None:
        assert _snapshot(self.tmp, self.ws) == self.before, "something outside the workspace changed"
        assert not os.path.exists(STRAY)
        assert not (Path.home() / "kode-escape.txt").exists()

    @staticmethod
    def assert_no_leak(result: ToolResult) -> None:
        seen = result.output + repr(result.display)
        assert SECRET not in seen and PASSWD_MARK not in seen and "PWNED" not in seen


def _assert_clear_refusal(result: ToolResult) -> None:
    assert result.is_error, result.output
    text = result.output.lower()
    assert "workspace" in text or "nul byte" in text, result.output


class EscapeContract(_Contract):
    """A corpus of attempts to read or write outside the workspace, through every file tool and
    the Environment itself. Each attempt must fail with a clear error, reveal nothing of what lies
    outside (secret sentinel files sit next to the workspace, and /etc/passwd further out), and
    leave every file outside exactly as it was (nothing changed, nothing created).

    One Fortress serves the whole test class (the `fortress` fixture, class-scoped); each case
    roots a fresh environment in it with `make_env`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        import pytest  # a test module is defining a suite: pytest is there

        cls.fortress = pytest.fixture(scope="class", name="fortress")(EscapeContract._fortress)  # type: ignore[attr-defined]

    def _fortress(self, tmp_path_factory: pytest.TempPathFactory) -> Fortress:
        return Fortress(tmp_path_factory.mktemp("escape"))

    @staticmethod
    async def _enter(make_env: MakeEnv, fortress: Fortress) -> tuple[Environment, Call]:
        env = await make_env(fortress.ws)
        return env, tool_caller(env)

    async def test_the_corpus_is_big_enough(self) -> None:
        attempts = (
            len(READ_ESCAPES) * len(READ_TOOLS)
            + len(WRITE_ESCAPES)
            + len(GLOB_PATTERN_ESCAPES)
            + len(GREP_GLOB_ESCAPES)
            + len(READ_ESCAPES) * len(ENV_READ_METHODS)
            + len(WRITE_ESCAPES)
        )
        assert attempts >= 100

    @parametrize("tool", READ_TOOLS)
    @parametrize("path", READ_ESCAPES, ids=repr)
    async def test_read_tools_refuse(self, make_env: MakeEnv, fortress: Fortress, tool: str, path: str) -> None:
        _, call = await self._enter(make_env, fortress)
        result = await call(tool, **_arguments(tool, fortress.expand(path)))
        _assert_clear_refusal(result)
        fortress.assert_no_leak(result)
        fortress.assert_untouched()

    @parametrize("path", WRITE_ESCAPES, ids=repr)
    async def test_write_file_refuses(self, make_env: MakeEnv, fortress: Fortress, path: str) -> None:
        _, call = await self._enter(make_env, fortress)
        result = await call("write_file", path=fortress.expand(path), content="PWNED by write_file\n")
        _assert_clear_refusal(result)
        fortress.assert_untouched()

    async def test_edit_file_cannot_reach_an_outside_file(self, make_env: MakeEnv, fortress: Fortress) -> None:
        _, call = await self._enter(make_env, fortress)
        for path in (
            "../outside/editme.txt",
            "ln_dir_out/editme.txt",
            "sub/ln_up/editme.txt",
            "{T}/outside/editme.txt",
        ):
            result = await call(
                "edit_file", path=fortress.expand(path), edits=[{"old_text": "TOPSECRET", "new_text": "PWNED"}]
            )
            _assert_clear_refusal(result)
            fortress.assert_no_leak(result)
        fortress.assert_untouched()

    @parametrize("pattern", GLOB_PATTERN_ESCAPES, ids=repr)
    async def test_glob_patterns_refused(self, make_env: MakeEnv, fortress: Fortress, pattern: str) -> None:
        _, call = await self._enter(make_env, fortress)
        result = await call("glob", pattern=fortress.expand(pattern))
        _assert_clear_refusal(result)
        fortress.assert_no_leak(result)

    @parametrize("glob", GREP_GLOB_ESCAPES, ids=repr)
    async def test_grep_globs_refused(self, make_env: MakeEnv, fortress: Fortress, glob: str) -> None:
        _, call = await self._enter(make_env, fortress)
        result = await call("grep", pattern="TOPSECRET", glob=glob)
        _assert_clear_refusal(result)
        fortress.assert_no_leak(result)

    @parametrize("tool", READ_TOOLS)
    @parametrize("path", ENCODED_NAMES, ids=repr)
    async def test_encoded_looking_names_are_plain_missing_names(
        self, make_env: MakeEnv, fortress: Fortress, tool: str, path: str
    ) -> None:
        _, call = await self._enter(make_env, fortress)
        result = await call(tool, **_arguments(tool, path))
        assert result.is_error and "not found" in result.output.lower(), result.output
        fortress.assert_no_leak(result)
        fortress.assert_untouched()

    async def test_walking_the_workspace_never_follows_links_out(self, make_env: MakeEnv, fortress: Fortress) -> None:
        _, call = await self._enter(make_env, fortress)
        for tool, arguments in [
            ("list", {"path": ".", "depth": 5}),
            ("list", {"path": "ln_inside", "depth": 5}),
            ("glob", {"pattern": "**/*"}),
            ("glob", {"pattern": "**"}),
            ("grep", {"pattern": "TOPSECRET|root:"}),
            ("grep", {"pattern": "TOPSECRET|root:", "path": "sub"}),
            ("grep", {"pattern": "."}),
        ]:
            result = await call(tool, **arguments)
            assert not result.is_error, result.output
            fortress.assert_no_leak(result)
            assert "secret.txt" not in result.output and "passwd" not in result.output
        fortress.assert_untouched()

    async def test_inside_symlinks_and_absolute_inside_paths_still_work(
        self, make_env: MakeEnv, fortress: Fortress
    ) -> None:
        _, call = await self._enter(make_env, fortress)
        assert "inside too" in (await call("read_file", path="ln_inside/b.txt")).output
        assert "inside" in (await call("read_file", path=str(fortress.ws / "a.txt"))).output
        assert not (await call("write_file", path="ln_inside/c.txt", content="ok")).is_error
        assert (fortress.ws / "sub" / "c.txt").read_text() == "ok"
        fortress.assert_untouched()

    # -- the Environment itself ------------------------------------------------------------------

    @parametrize("method", ENV_READ_METHODS)
    @parametrize("path", READ_ESCAPES, ids=repr)
    async def test_environment_refuses(self, make_env: MakeEnv, fortress: Fortress, method: str, path: str) -> None:
        env, _ = await self._enter(make_env, fortress)
        with raises(WorkspaceEscape) as info:
            if method == "run_cwd":
                await env.run("cat /etc/passwd", cwd=fortress.expand(path))
            else:
                await getattr(env, method)(fortress.expand(path))
        message = str(info.value).lower()
        assert "workspace" in message or "nul byte" in message
        assert SECRET not in message
        fortress.assert_untouched()

    @parametrize("path", WRITE_ESCAPES, ids=repr)
    async def test_environment_write_refuses(self, make_env: MakeEnv, fortress: Fortress, path: str) -> None:
        env, _ = await self._enter(make_env, fortress)
        with raises(WorkspaceEscape):
            await env.write_bytes(fortress.expand(path), b"PWNED by write_bytes\n")
        fortress.assert_untouched()

