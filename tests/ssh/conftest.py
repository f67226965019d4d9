"""A real OpenSSH sshd on 127.0.0.1 per test module, one SSH connection per module, and a fresh
remote workspace per test (it is the same machine, so tests set files up and check them with
plain Python). Tests run on the module's event loop, which owns the connection. `env`,
`workspace` and `make_env` are what the Environment contract (kode/testing/environment_contract.py)
asks for; tool calls are made with its `tool_caller`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

pytest.register_assert_rewrite("kode.testing.environment_contract")

from kode.runtime.ssh import SshEnvironment  # noqa: E402
from kode.testing.contract_support import MakeEnv  # noqa: E402
from kode.testing.sshd import SshdUnavailable, SshServer, find_sshd  # noqa: E402


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    if find_sshd() is None:  # .ci/run installs openssh-server; a missing one is a broken setup
        pytest.fail("OpenSSH server (sshd) is not installed: apt-get install openssh-server")
    # The interpreter's bin directory on the remote PATH: `rg` (the ripgrep wheel) is found there
    # as LocalEnvironment finds it beside the interpreter.
    server = SshServer(path_prepend=[str(Path(sys.executable).parent)])
    try:
        server.start()
    except SshdUnavailable as exc:
        server.stop()
        pytest.fail(f"could not start sshd: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def base_env(sshd: SshServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SshEnvironment]:
    """The module's connection, rooted at a directory of its own."""
    home = tmp_path_factory.mktemp("ssh-base")
    env = await SshEnvironment.open(sshd.target(str(home)), kill_grace=0.3, **sshd.connect_kwargs())
    try:
        yield env
    finally:
        await env.close()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def workspace(ws: Path) -> Path:
    return ws


@pytest.fixture
def make_env(base_env: SshEnvironment) -> MakeEnv:
    """Another workspace on the module's connection."""

    async def _make(root: Path) -> SshEnvironment:
        return await base_env.rooted_at(str(root))

    return _make


@pytest_asyncio.fixture(loop_scope="module")
async def env(base_env: SshEnvironment, ws: Path) -> SshEnvironment:
    return await base_env.rooted_at(str(ws))
