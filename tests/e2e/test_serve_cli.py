"""The real `kode serve` and `kode attach` binaries, as a user runs them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kode.client.remote_sync import SyncRemoteServer

pytestmark = pytest.mark.e2e

KODE = [sys.executable, "-m", "kode"]


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, first_lines: list[str], data: Path) -> None:
        self.process = process
        self.url = url
        self.first_lines = first_lines
        self.data = data

    @property
    def token(self) -> str:
        return (self.data / "server-token").read_text().strip()


def serve(env: dict[str, str], cwd: Path, *args: str) -> Served:
    process = subprocess.Popen(
        [*KODE, "serve", "--port", "0", *args], env=env, cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "attach with" in line:
            url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", "".join(lines))
            assert url, lines
            return Served(process, url.group(1), lines, Path(env["KODE_DATA_DIR"]))
    process.kill()
    raise AssertionError(f"kode serve did not start: {lines}")


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    server = serve(env, workspace)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait(10)


def test_serve_answers_stores_and_stops_cleanly(served: Served, env: dict[str, str], tmp_path: Path) -> None:
    with SyncRemoteServer(served.url, served.token) as api:
        session = api.create_session()
        result = api.send_message(session.id, "served and echoed")
        assert result["status"] == "completed" and result["result"] == "served and echoed"
    token_lines = [line for line in served.first_lines if served.token in line]
    assert len(token_lines) == 1 and "shown once" in token_lines[0]

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(15) == 0
    listed = subprocess.run([*KODE, "sessions", "list", "--json"], env=env, cwd=tmp_path / "ws", capture_output=True, text=True, timeout=60)
    assert session.id in listed.stdout, listed.stderr

    again = serve(env, tmp_path / "ws")
    try:
        assert not any(served.token in line for line in again.first_lines), "the token is shown only once"
        with SyncRemoteServer(again.url, served.token) as api:
            assert api.get_session(session.id).last_seq > 0  # loaded again from the store
    finally:
        again.process.terminate()
        again.process.wait(15)


def attach(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KODE, "attach", *args], env={**env, "KODE_TUI_FORCE": "1"}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_attach_refusals_are_one_line_with_an_exit_code(served: Served, env: dict[str, str], tmp_path: Path) -> None:
    unknown = attach([served.url, "--session", "ses_nope"], env, tmp_path)
    assert unknown.returncode == 2 and "no session" in unknown.stderr and len(unknown.stderr.splitlines()) == 1

    wrong = attach([served.url], {**env, "KODE_SERVER_TOKEN": "x" * 32}, tmp_path)
    assert wrong.returncode == 2 and "token" in wrong.stderr

    closed = attach(["http://127.0.0.1:9"], env, tmp_path)
    assert closed.returncode == 1 and "cannot reach" in closed.stderr

    not_a_url = attach(["ftp://x"], env, tmp_path)
    assert not_a_url.returncode == 2 and "http://" in not_a_url.stderr


def test_serve_ssh_lets_the_authorised_key_ask(env: dict[str, str], tmp_path: Path) -> None:
    from kode.testing.sshd import generate_key

    workspace = tmp_path / "ws"
    workspace.mkdir()
    missing = subprocess.run(
        [*KODE, "serve", "--port", "0", "--ssh", "--ssh-port", "0", "--authorized-keys", str(tmp_path / "nope")],
        env=env, cwd=workspace, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2 and "authorized keys" in missing.stderr

    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "authorized_keys").write_text(generate_key(keys / "id") + "\n")
    server = serve(env, workspace, "--ssh", "--ssh-port", "0", "--authorized-keys", str(keys / "authorized_keys"))
    try:
        port = re.search(r"ssh on 127\.0\.0\.1:(\d+)", "".join(server.first_lines))
        assert port, server.first_lines
        asked = subprocess.run(
            ["ssh", "-p", port.group(1), "-i", str(keys / "id"), "-o", "UserKnownHostsFile=/dev/null",
             "-o", "StrictHostKeyChecking=no", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
             "-o", "LogLevel=ERROR", "127.0.0.1", "ask", "asked over ssh"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        assert asked.stdout == "asked over ssh\n"
        host_key = Path(env["KODE_DATA_DIR"]) / "ssh_host_ed25519_key"
        assert host_key.stat().st_mode & 0o777 == 0o600
    finally:
        server.process.terminate()
        server.process.wait(15)
