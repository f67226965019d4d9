"""SshEnvironment against a real sshd on loopback: the Environment contract
(kode/testing/environment_contract.py: paths, files, walking, `which`, commands and their process
groups), then what only SSH has here: opening from a URL, a wide tree walked as it is walked
locally, and `which` answered from a probe. The host is this machine, so files are set up and
checked with plain Python. More of `run` is in test_ssh_run.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from kode.runtime.local import LocalEnvironment
from kode.runtime.ssh import SshEnvironment
from kode.testing.contract_support import write
from kode.testing.environment_contract import EnvironmentContract
from kode.testing.sshd import SshServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


class TestSshEnvironment(EnvironmentContract):
    pass


async def test_open_follows_a_symlinked_root(sshd: SshServer, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    env = await SshEnvironment.open(sshd.url(str(tmp_path / "link")), **sshd.connect_kwargs())
    try:
        assert env.root == str((tmp_path / "real").resolve())
        assert env.which("bash")
    finally:
        await env.close()


async def test_walk_a_wide_deep_tree_matches_local(env: SshEnvironment, ws: Path) -> None:
    write(ws / ".gitignore", "*.pyc\n")
    for i in range(30):
        write(ws / f"pkg{i % 5}" / f"mod{i}" / "deep" / f"f{i}.py", "")
        write(ws / f"pkg{i % 5}" / f"mod{i}" / f"f{i}.pyc", "")
    assert await env.walk_files() == await LocalEnvironment(ws).walk_files()


async def test_which_answers_from_the_probe(env: SshEnvironment) -> None:
    await env.probe(["ssh-keygen"])  # bash, rg, ... were probed when the connection opened
    assert env.which("ssh-keygen") is not None
