"""`kode serve --ssh`: kode's own SSH server, driven by the real OpenSSH `ssh` client.

The door runs in-process in front of a live server (kode.testing.live_server), on the server's
loop. Logins spawn real `kode` children (`ask`, or `attach` in a pty), which inherit this
process's environment: the fake provider's address, a data dir in tmp.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kode.server.ssh_door import DoorConfig, FailureLimiter, SshDoor
from kode.testing.fake_provider import FakeProvider
from kode.testing.live_server import MODEL, LiveServer, start_server
from kode.testing.sshd import generate_key

SSH = shutil.which("ssh") or "ssh"


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    with FakeProvider(echo=True) as fp:
        yield fp


class Door:
    def __init__(self, server: LiveServer, door: SshDoor, keys: Path) -> None:
        self.server = server
        self.door = door
        self.keys = keys

    def ssh(self, *args: str, key: str = "id", timeout: float = 60, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
        options = [
            "-p", str(self.door.port),
            "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=10", "-i", str(self.keys / key),
        ]  # fmt: skip
        return subprocess.run(
            [SSH, *options, *args], input=stdin, capture_output=True, text=True, timeout=timeout
        )


def open_door(tmp_path: Path, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch, **limits: float) -> Door:
    for name in list(os.environ):
        if name.startswith("KODE_") or name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KODE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("KODE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("KODE_MODEL", MODEL)
    monkeypatch.setenv("KODE_API_BASE", provider.openai_base)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "authorized_keys").write_text(generate_key(keys / "id") + "\n")
    generate_key(keys / "stranger")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    server = start_server(workspace, provider)
    door = SshDoor(
        DoorConfig(
            host="127.0.0.1",
            port=0,
            host_key=tmp_path / "data" / "ssh_host_ed25519_key",
            authorized_keys=keys / "authorized_keys",
            http_url=server.url,
            token=server.token,
            workspace=workspace,
            **limits,  # type: ignore[arg-type]
        )
    )
    server.call(door.start())
    return Door(server, door, keys)


@pytest.fixture
def door(tmp_path: Path, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[Door]:
    provider.clear()
    opened = open_door(tmp_path, provider, monkeypatch)
    try:
        yield opened
    finally:
        opened.server.call(opened.door.close())
        opened.server.stop()


def test_ask_over_ssh_answers_with_its_exit_code(door: Door) -> None:
    answered = door.ssh("127.0.0.1", "ask", "hello through the door")
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout == "hello through the door\n"

    piped = door.ssh("127.0.0.1", "ask", "summarise", stdin="piped context\n")
    assert piped.returncode == 0 and "piped context" in piped.stdout

    no_prompt = door.ssh("127.0.0.1", "ask")
    assert no_prompt.returncode == 2 and "prompt" in no_prompt.stderr.lower()

    other = door.ssh("127.0.0.1", "ls", "/")
    assert other.returncode == 2 and "runs kode only" in other.stdout + other.stderr


def test_host_key_is_generated_once_and_private(door: Door, tmp_path: Path) -> None:
    key = tmp_path / "data" / "ssh_host_ed25519_key"
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    door.server.call(door.door.close())
    door.server.call(door.door.start())
    assert key.read_bytes() == before
    assert door.ssh("127.0.0.1", "ask", "still here").stdout == "still here\n"


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "PreferredAuthentications=password"],
        ["-o", "PreferredAuthentications=keyboard-interactive"],
        ["-o", "PreferredAuthentications=none"],
        ["-o", "PreferredAuthentications=publickey"],  # with a key that is not authorised
    ],
    ids=["password", "keyboard-interactive", "none", "unknown-key"],
)
def test_only_the_authorised_key_gets_in(door: Door, options: list[str]) -> None:
    result = door.ssh(*options, "127.0.0.1", "ask", "let me in", key="stranger")
    assert result.returncode == 255
    assert "Permission denied" in result.stderr
    assert "let me in" not in result.stdout


def test_forwarding_and_sftp_are_refused(door: Door) -> None:
    remote = door.ssh("-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9", "127.0.0.1", "ask", "x")
    assert remote.returncode == 255 and "forwarding failed" in remote.stderr.lower()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    local_port = listener.getsockname()[1]
    listener.close()
    tunnel = subprocess.Popen(
        [SSH, "-N", "-L", f"{local_port}:127.0.0.1:{door.server.url.rsplit(':', 1)[1]}",
         "-p", str(door.door.port), "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", str(door.keys / "id"),
         "127.0.0.1"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        reply = b""
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", local_port), timeout=2) as conn:
                    conn.sendall(b"GET /v1/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    reply = conn.recv(1000)
                break
            except ConnectionRefusedError:
                time.sleep(0.1)  # ssh is not listening yet
            except OSError:
                break
        assert b"ok" not in reply, "a local forward reached the server"
    finally:
        tunnel.kill()  # ssh -N may sit out a TERM while its refused forward winds down
        tunnel.wait(10)

    sftp = subprocess.run(
        ["sftp", "-P", str(door.door.port), "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-i", str(door.keys / "id"), "127.0.0.1"],
        input="ls\n", capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert sftp.returncode != 0 and "subsystem request failed" in sftp.stderr


def test_a_login_that_never_authenticates_is_dropped(tmp_path: Path, provider: FakeProvider, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    opened = open_door(tmp_path, provider, monkeypatch, login_timeout=1.0)
    try:
        with socket.create_connection(("127.0.0.1", opened.door.port), timeout=10) as conn:
            started = time.monotonic()
            conn.settimeout(10)
            while conn.recv(4096):
                pass  # the server's banner, then nothing from us: it must hang up
            assert time.monotonic() - started < 8
    finally:
        opened.server.call(opened.door.close())
        opened.server.stop()


def test_repeated_failures_shut_an_address_out(tmp_path: Path, provider: FakeProvider, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    opened = open_door(tmp_path, provider, monkeypatch, max_failures=3, ban_seconds=30.0)
    try:
        assert opened.ssh("127.0.0.1", "ask", "ok").returncode == 0
        for _ in range(3):
            assert opened.ssh("127.0.0.1", "ask", "x", key="stranger").returncode == 255
        banned = opened.ssh("127.0.0.1", "ask", "with the right key", key="id")
        assert banned.returncode == 255, "the address is shut out for a while, even with the right key"
    finally:
        opened.server.call(opened.door.close())
        opened.server.stop()


def test_failure_limiter_forgets_after_the_ban() -> None:
    limiter = FailureLimiter(max_failures=2, ban_seconds=0.2)
    limiter.failed("10.0.0.1")
    assert not limiter.banned("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.banned("10.0.0.1") and not limiter.banned("10.0.0.2")
    time.sleep(0.25)
    assert not limiter.banned("10.0.0.1")


def test_the_tui_through_a_pty_follows_the_window(door: Door, tmp_path: Path) -> None:
    name = f"door{os.getpid()}"
    command = " ".join(
        [SSH, "-tt", "-p", str(door.door.port), "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
         "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i", str(door.keys / "id"), "127.0.0.1"]
    )  # fmt: skip
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "110", "-y", "30", command], check=True)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout

    def wait(text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in screen():
            assert time.monotonic() < deadline, f"{text!r} never appeared:\n{screen()}"
            time.sleep(0.2)

    try:
        wait("attached to")
        subprocess.run(["tmux", "send-keys", "-t", name, "typed over ssh", "Enter"], check=True)
        deadline = time.monotonic() + 30
        while screen().count("typed over ssh") < 2:  # the prompt, then the echoed answer
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        subprocess.run(["tmux", "resize-window", "-t", name, "-x", "72", "-y", "24"], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = [line for line in screen().splitlines() if "╰" in line]
            if lines and len(lines[-1].rstrip()) <= 72:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the TUI did not follow the new window size:\n{screen()}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
