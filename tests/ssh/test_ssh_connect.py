"""Reaching a host: `ssh://` URLs, and connection failures as one-line `SshError`s that say what
to do. Host keys are always checked: unknown and changed keys are refused with the fingerprint."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kode.runtime.environment import NotFound
from kode.runtime.ssh import SshEnvironment
from kode.runtime.ssh_target import SshError, SshTarget, connect_ssh, parse_ssh_url
from kode.testing.sshd import SshServer, generate_key

# -- URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://host", SshTarget("host")),
        ("ssh://dev@build.example.com:2222/srv/app", SshTarget("build.example.com", 2222, "dev", "/srv/app")),
        ("ssh://dev@host/", SshTarget("host", 22, "dev", "/")),
        ("ssh://host/~/proj", SshTarget("host", 22, None, "~/proj")),
        ("ssh://host/~", SshTarget("host")),
        ("SSH://[::1]:2200/w", SshTarget("::1", 2200, None, "/w")),
        ("ssh://us%40er@host/my%20dir", SshTarget("host", 22, "us@er", "/my dir")),
    ],
)
def test_parse(url: str, expected: SshTarget) -> None:
    assert parse_ssh_url(url) == expected == SshTarget.parse(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Empty SSH URL"),
        ("host:/path", "not an SSH URL"),
        ("http://host/x", "Unsupported scheme"),
        ("ssh://", "has no host"),
        ("ssh://user@:22/x", "has no host"),
        ("ssh://host:99999/x", "out of range"),
        ("ssh://host:abc/x", "Invalid SSH URL"),
        ("ssh://user:secret@host/x", "passwords are not accepted"),
        ("ssh://host/x?y=1", "query or fragment"),
        ("ssh://-oProxyCommand=x/", "Invalid host"),
    ],
)
def test_parse_refuses_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_ssh_url(url)
    assert "\n" not in str(info.value)


def test_target_round_trips_to_a_url() -> None:
    for url in ["ssh://host", "ssh://dev@host:2222/srv/app", "ssh://[::1]:2200/w", "ssh://host/~/proj"]:
        assert parse_ssh_url(str(parse_ssh_url(url))) == parse_ssh_url(url)
    assert SshTarget("h", 2222, "u").authority == "u@h:2222"


# -- connecting ----------------------------------------------------------------------------------


def _fingerprint(public_key_line: str, tmp_path: Path) -> str:
    path = tmp_path / "key.pub"
    path.write_text(public_key_line + "\n")
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)], capture_output=True, text=True)
    return out.stdout.split()[1]


def test_the_openssh_client_logs_in_with_the_launchers_arguments(sshd: SshServer) -> None:
    done = subprocess.run(
        ["ssh", *sshd.ssh_args(), sshd.destination, "echo", "ok"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


async def test_connects_with_the_given_key_and_known_hosts(sshd: SshServer) -> None:
    conn = await connect_ssh(sshd.target(), **sshd.connect_kwargs())
    try:
        assert (await conn.run("echo ok", check=True)).stdout.strip().endswith("ok")
    finally:
        conn.close()


async def test_unknown_host_key_is_refused_with_its_fingerprint(sshd: SshServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(SshError) as info:
        await connect_ssh(sshd.target(), **{**sshd.connect_kwargs(), "known_hosts": str(empty)})
    message = str(info.value)
    assert "Unknown SSH host" in message and "\n" not in message
    assert _fingerprint(sshd.host_public_key, tmp_path) in message
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {empty}" in message


async def test_default_known_hosts_is_checked(
    sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No known_hosts argument: ~/.ssh/known_hosts is used (here an empty home), never "trust all".
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(SshError, match="Unknown SSH host"):
        await connect_ssh(sshd.target(), client_keys=[str(sshd.client_key)], agent_path="")


async def test_changed_host_key_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    other = generate_key(tmp_path / "other_host_key")
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line(other))
    with pytest.raises(SshError) as info:
        await connect_ssh(sshd.target(), **{**sshd.connect_kwargs(), "known_hosts": str(known)})
    message = str(info.value)
    assert "CHANGED" in message and _fingerprint(sshd.host_public_key, tmp_path) in message
    assert "ssh-keygen -R" in message


async def test_wrong_client_key_fails_authentication(sshd: SshServer, tmp_path: Path) -> None:
    generate_key(tmp_path / "stranger")
    with pytest.raises(SshError, match="authentication failed") as info:
        await connect_ssh(sshd.target(), **{**sshd.connect_kwargs(), "client_keys": [str(tmp_path / "stranger")]})
    assert "authorized_keys" in str(info.value)


async def test_refused_connection(sshd: SshServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(SshError, match="Connection refused.*is sshd running"):
            await connect_ssh(SshTarget("127.0.0.1", port), **sshd.connect_kwargs())


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word (a black-holed port, without the network)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for sock in held:
            sock.close()


async def test_timeout(sshd: SshServer, silent_server: int) -> None:
    with pytest.raises(SshError, match="Timed out after 0.5s"):
        await connect_ssh(SshTarget("127.0.0.1", silent_server), connect_timeout=0.5, **sshd.connect_kwargs())


async def test_unresolvable_host(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_such_host(self, host, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop().__class__, "getaddrinfo", no_such_host)
    with pytest.raises(SshError, match="Cannot resolve SSH host 'build.invalid'"):
        await connect_ssh(SshTarget("build.invalid"), **sshd.connect_kwargs())


async def test_open_refuses_a_missing_root(sshd: SshServer, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="is not a directory"):
        await SshEnvironment.open(sshd.url(str(tmp_path / "missing")), **sshd.connect_kwargs())


async def test_open_defaults_to_the_remote_home(sshd: SshServer) -> None:
    env = await SshEnvironment.open(sshd.target(), **sshd.connect_kwargs())
    try:
        assert env.root == str(Path.home().resolve())
    finally:
        await env.close()
