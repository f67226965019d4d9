"""Remote use against a real OpenSSH sshd on loopback (kode.testing.sshd):

- `kode ask --remote ssh://…`: the agent runs here, its tools on the SSH host;
- `kode attach ssh://…`: starts (or reuses) `kode serve` on the host on a unix socket and reaches
  it through the SSH connection; a dropped connection reconnects and nothing is missed.

"Remote" is this machine seen through sshd, so tests check remote files with plain Python. The
client side finds its key and known_hosts where a user's are: in $HOME/.ssh.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kode.testing.fake_provider import FakeProvider, Reply, ToolCall
from kode.testing.sshd import SshServer

MODEL = "openai/gpt-4o-mini"
KODE = [sys.executable, "-m", "kode"]


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    with FakeProvider(echo=True) as fp:
        yield fp


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    server = SshServer(path_prepend=[str(Path(sys.executable).parent)], login_rc=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def env(tmp_path: Path, provider: FakeProvider, sshd: SshServer) -> dict[str, str]:
    """The local user: a home whose ~/.ssh knows the host and holds the key; a fake provider."""
    provider.clear()
    home = tmp_path / "home"
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(parents=True)
    shutil.copy(sshd.client_key, ssh_dir / "id_ed25519")
    (ssh_dir / "id_ed25519").chmod(0o600)
    (ssh_dir / "known_hosts").write_text(sshd.known_hosts_line() + "\n")
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith(("KODE_", "SSH_"))}
    clean.update(
        HOME=str(home),
        KODE_CONFIG_DIR=str(home / "config"),
        KODE_DATA_DIR=str(home / "data"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        KODE_MODEL=MODEL,
        KODE_API_BASE=provider.openai_base,
        OPENAI_API_KEY="sk-test",
    )
    return clean


def remote_dir(tmp_path: Path) -> Path:
    path = tmp_path / "remote-project"
    path.mkdir(exist_ok=True)
    return path


def kode(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KODE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_ask_with_remote_tools_edits_the_remote_workspace(provider, env, sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    remote = remote_dir(tmp_path)
    (remote / "notes.txt").write_text("remote notes\n")
    local = tmp_path / "local"
    local.mkdir()
    provider.script(
        Reply(text="Reading.", tool_calls=[ToolCall("read_file", {"path": "notes.txt"})]),
        Reply(text="Writing.", tool_calls=[ToolCall("write_file", {"path": "made.txt", "content": "over ssh\n"})]),
        Reply(text="Done remotely."),
    )
    url = sshd.url(str(remote))
    result = kode(["ask", "--remote", url, "--permission-mode", "accept-edits", "-o", "json", "do it"], env, local)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "Done remotely."
    assert (remote / "made.txt").read_text() == "over ssh\n"
    assert not (local / "made.txt").exists()
    tool_result = provider.requests[1].body["messages"][-1]
    assert tool_result["role"] == "tool" and "remote notes" in tool_result["content"]

    listed = kode(["sessions", "list", "--all", "--json"], env, local)
    sessions = json.loads(listed.stdout)
    assert sessions and sessions[0]["cwd"].startswith("ssh://") and sessions[0]["cwd"].endswith(str(remote))

    again = kode(["ask", "--remote", url, "--continue", "and again"], env, local)
    assert again.returncode == 0, again.stderr
    history = provider.requests[-1].body["messages"]
    assert any("do it" in str(m.get("content")) for m in history), "--continue found the remote session"


def test_an_unknown_host_key_is_refused_with_its_fingerprint(env, sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    Path(env["HOME"], ".ssh", "known_hosts").write_text("")
    result = kode(["ask", "--remote", sshd.url(str(remote_dir(tmp_path))), "hi"], env, tmp_path)
    assert result.returncode == 1
    assert "SHA256:" in result.stderr and "known_hosts" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_bad_remote_url_is_a_usage_error(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = kode(["ask", "--remote", "http://example.invalid/x", "hi"], env, tmp_path)
    assert result.returncode == 2 and "--remote" in result.stderr


def remote_kode(env: dict[str, str], tmp_path: Path) -> str:
    """The command the SSH host runs for `kode`: this interpreter, with a data dir of its own."""
    remote_env = {
        "KODE_DATA_DIR": str(tmp_path / "remote-data"),
        "KODE_CONFIG_DIR": str(tmp_path / "remote-config"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "KODE_MODEL": MODEL,
        "KODE_API_BASE": env["KODE_API_BASE"],
        "OPENAI_API_KEY": "sk-test",
    }
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in remote_env.items())
    return f"env {assignments} {shlex.quote(sys.executable)} -m kode"


def stop_remote_servers(tmp_path: Path) -> None:
    subprocess.run(["pkill", "-f", str(tmp_path / "remote-data")], capture_output=True)


async def test_attach_over_ssh_reconnects_and_misses_nothing(provider, env, sshd, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kode.client.remote import RemoteServer
    from kode.client.ssh_tunnel import REMOTE_KODE_ENV, TunnelThread
    from kode.protocol.ops import SubmitMessage
    from kode.runtime.ssh_target import SshTarget

    monkeypatch.setenv(REMOTE_KODE_ENV, remote_kode(env, tmp_path))
    remote = remote_dir(tmp_path)
    tunnel = TunnelThread()
    try:
        url = tunnel.open(SshTarget.parse(sshd.url(str(remote))), **sshd.connect_kwargs())
        assert tunnel.remote is not None and not tunnel.remote.reused
        assert Path(tunnel.remote.socket).stat().st_mode & 0o777 == 0o600
        chunks = [f"part{i:03d} " for i in range(120)]
        provider.script(Reply(text="".join(chunks), chunk_size=8, delay=0.02))
        async with RemoteServer(url, tunnel.remote.token, reconnect_for=20) as server:
            session = await server.create_session()
            seen = []
            await server.submit(session.id, SubmitMessage(text="stream a lot"))
            dropped = 0
            async for event in server.events(session.id):
                seen.append(event)
                if event.type == "text_delta" and dropped < 3 and len(seen) % 15 == 0:
                    tunnel.loop.call_soon_threadsafe(tunnel.tunnel.drop)  # the network goes away
                    dropped += 1
                if event.type == "turn_finished":
                    break
        assert dropped == 3
        seqs = [e.seq for e in seen]
        assert seqs == list(range(1, seqs[-1] + 1)), "every event exactly once, across the drops"
        assert seen[-1].result == "".join(chunks)

        second = TunnelThread()
        try:
            second.open(SshTarget.parse(sshd.url(str(remote))), **sshd.connect_kwargs())
            assert second.remote is not None and second.remote.reused, "the running server is reused"
        finally:
            second.close()
    finally:
        tunnel.close()
        stop_remote_servers(tmp_path)


def test_attach_over_ssh_in_a_real_terminal(provider, env, sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    remote = remote_dir(tmp_path)
    env = {**env, "KODE_REMOTE_KODE": remote_kode(env, tmp_path)}
    name = f"sshattach{os.getpid()}"
    command = shlex.join([*KODE, "attach", sshd.url(str(remote))])
    environment = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.startswith(("KODE_", "HOME", "LITELLM", "OPENAI")))
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "30", f"env {environment} {command}"], check=True)
    subprocess.run(["tmux", "resize-window", "-t", name, "-x", "120", "-y", "30"], capture_output=True)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout

    try:
        deadline = time.monotonic() + 60
        while not ("attached to" in (shown := screen()) and "ready" in shown):
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        subprocess.run(["tmux", "send-keys", "-t", name, "hello from afar", "Enter"], check=True)
        while screen().count("hello from afar") < 2:
            assert time.monotonic() < deadline + 30, screen()
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        stop_remote_servers(tmp_path)
