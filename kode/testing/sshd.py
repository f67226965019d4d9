"""A real OpenSSH `sshd` on 127.0.0.1, for tests, benchmarks and trying `ssh://` workspaces.

DESIGN.md asks that real components be real in tests: SSH code is exercised against the same
server users run, not a Python imitation. `SshServer` builds a throw-away directory holding its
own host key, a client key pair, `authorized_keys`, a `known_hosts` naming `[127.0.0.1]:PORT`
and an `sshd_config`, then runs `sshd -D -e` (foreground, logging to a file) on a free loopback
port. The client logs in as the current user (root in CI) with the generated key.

    with SshServer() as server:
        subprocess.run(["ssh", *server.ssh_args(), server.destination, "true"])
        target = server.target("/tmp/ws")      # an SshTarget for SshEnvironment.open(...)
        await SshEnvironment.open(target, **server.connect_kwargs())

Nothing listens beyond 127.0.0.1, password and keyboard-interactive logins are off, and the
server is killed (and its directory removed) on `stop()`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kode.runtime.ssh_target import SshTarget

HOST = "127.0.0.1"
PRIVSEP_DIR = Path("/run/sshd")


class SshdUnavailable(RuntimeError):
    """OpenSSH's server or client tools are not installed, or sshd would not start."""


def find_sshd() -> str | None:
    """Absolute path of `sshd` (it refuses to re-exec itself from a relative path)."""
    for candidate in (shutil.which("sshd"), "/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def generate_key(path: Path, comment: str = "kode-test") -> str:
    """Write an unencrypted ed25519 key pair at `path` (+ `.pub`); return the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    return path.with_name(path.name + ".pub").read_text().strip()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class SshServer:
    """One `sshd` on loopback with its own keys. Use as a context manager or start()/stop()."""

    def __init__(
        self, *, path_prepend: list[str] | None = None, login_rc: bool = True, start_timeout: float = 10.0
    ) -> None:
        """`path_prepend`: directories put before the default PATH of remote sessions (e.g. a
        virtualenv's bin, so `rg` is found remotely as it is locally). `login_rc=False` keeps
        bash from sourcing ~/.bashrc for commands run over SSH (it does when SHLVL says it is a
        top-level shell; SHLVL=1 says otherwise), so benchmarks can tell kode's cost from the
        user's shell start-up."""
        self.path_prepend = list(path_prepend or [])
        self.login_rc = login_rc
        self.start_timeout = start_timeout
        self.user = pwd.getpwuid(os.getuid()).pw_name  # who sshd will log us in as (not $USER)
        self.port = 0
        self.dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.host_public_key = ""
        """The server's host key as an OpenSSH public key line (`ssh-ed25519 AAAA...`)."""

    # -- what a client needs -------------------------------------------------------------------

    @property
    def host(self) -> str:
        return HOST

    @property
    def client_key(self) -> Path:
        return self._path("client_key")

    @property
    def known_hosts(self) -> Path:
        return self._path("known_hosts")

    @property
    def log_file(self) -> Path:
        return self._path("sshd.log")

    @property
    def destination(self) -> str:
        """`user@127.0.0.1`, for the `ssh` command line after `ssh_args()`."""
        return f"{self.user}@{HOST}"

    def url(self, path: str = "") -> str:
        """`ssh://user@127.0.0.1:PORT/path`."""
        return f"ssh://{self.user}@{HOST}:{self.port}{path}"

    def ssh_args(self) -> list[str]:
        """Options for the OpenSSH `ssh` client: this port, key and known_hosts, never a prompt."""
        return [
            "-p", str(self.port),
            "-i", str(self.client_key),
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-F", "/dev/null",
        ]  # fmt: skip

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `connect_ssh` / `SshEnvironment.open`: this key only, no agent."""
        return {"known_hosts": str(self.known_hosts), "client_keys": [str(self.client_key)], "agent_path": ""}

    def target(self, path: str | None = None) -> SshTarget:
        from kode.runtime.ssh_target import SshTarget

        return SshTarget(host=HOST, port=self.port, user=self.user, path=path)

    def known_hosts_line(self, public_key: str | None = None) -> str:
        """A known_hosts line for this server (with another key when `public_key` is given)."""
        key = " ".join((public_key or self.host_public_key).split()[:2])
        return f"[{HOST}]:{self.port} {key}\n"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SshServer:
        sshd = find_sshd()
        if sshd is None or shutil.which("ssh-keygen") is None:
            raise SshdUnavailable("OpenSSH server not found; install it (e.g. `apt-get install openssh-server`)")
        self.dir = Path(tempfile.mkdtemp(prefix="kode-sshd-"))
        try:
            os.chmod(self.dir, 0o755)
            self.host_public_key = generate_key(self._path("host_key"), "kode-test-host")
            client_public = generate_key(self.client_key, "kode-test-client")
            self._path("authorized_keys").write_text(client_public + "\n")
            os.chmod(self._path("authorized_keys"), 0o600)
            _ensure_privsep_dir()
            last_error = ""
            for _ in range(3):  # a free port can be taken between choosing it and sshd binding it
                self.port = _free_port()
                self._write_config()
                self.known_hosts.write_text(self.known_hosts_line())
                try:
                    self._launch(sshd)
                    return self
                except SshdUnavailable as exc:
                    last_error = str(exc)
            raise SshdUnavailable(last_error)
        except BaseException:
            self.stop()
            raise

    def _write_config(self) -> None:
        lines = [
            f"ListenAddress {HOST}",
            f"Port {self.port}",
            f"HostKey {self._path('host_key')}",
            f"AuthorizedKeysFile {self._path('authorized_keys')}",
            f"PidFile {self._path('sshd.pid')}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
        ]
        env: list[str] = []
        if self.path_prepend:
            default = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            env.append(f"PATH={':'.join(self.path_prepend)}:{default}")
        if not self.login_rc:
            env.append("SHLVL=1")
        if env:
            lines.append("SetEnv " + " ".join(env))  # one line: sshd keeps the first SetEnv per name
        self._path("sshd_config").write_text("\n".join(lines) + "\n")

    def _launch(self, sshd: str) -> None:
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self._proc = subprocess.Popen(
                [sshd, "-D", "-e", "-f", str(self._path("sshd_config"))],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                raise SshdUnavailable(f"sshd exited at start: {self._log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                if sock.recv(4).startswith(b"SSH-"):  # the banner: it is sshd, and it is ready
                    return
            time.sleep(0.02)
        self._kill()
        raise SshdUnavailable(f"sshd did not accept connections within {self.start_timeout:g}s: {self._log_tail()}")

    def stop(self) -> None:
        """Kill sshd and remove its directory. Sessions it already forked end with their clients."""
        self._kill()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def __enter__(self) -> SshServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _path(self, name: str) -> Path:
        if self.dir is None:
            raise RuntimeError("the sshd is not started; call start() first")
        return self.dir / name

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:]) or "(empty log)"


def _ensure_privsep_dir() -> None:
    """sshd insists on its privilege separation directory; containers often lack it."""
    if PRIVSEP_DIR.is_dir():
        return
    try:
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as exc:
        raise SshdUnavailable(f"cannot create {PRIVSEP_DIR} ({exc.strerror}); create it as root, mode 0755") from None
