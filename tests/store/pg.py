"""A throwaway PostgreSQL cluster on a free loopback port, for tests and benchmarks.

    with PostgresCluster.start() as cluster:         # or .start() ... .stop()
        url = await cluster.create_database("t1")     # postgresql+asyncpg://kode@127.0.0.1:PORT/t1

Needs Debian's `postgresql` package (initdb and postgres under /usr/lib/postgresql/*/bin, or
`$KODE_TEST_PG_BIN`). PostgreSQL refuses to run as root, so as root the cluster runs as the
`postgres` system user the package creates (else a `kodetest` user is made with useradd).
Trust authentication, fsync off by default: it is for tests, and it is gone when stopped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "kode"
INSTALL_HINT = (
    "PostgreSQL server binaries not found (looked for /usr/lib/postgresql/*/bin/initdb and "
    "$KODE_TEST_PG_BIN). Install them: apt-get update && apt-get install -y postgresql"
)


class PostgresUnavailable(RuntimeError):
    pass


def find_bin_dir() -> Path:
    override = os.environ.get("KODE_TEST_PG_BIN")
    candidates = [Path(override)] if override else []
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0],
        reverse=True,
    )
    candidates += versions
    if which := shutil.which("initdb"):
        candidates.append(Path(which).parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    raise PostgresUnavailable(INSTALL_HINT)


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as (None: the current user is not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "kodetest"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "kodetest"],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam("kodetest")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresCluster:
    root: Path
    port: int
    bin_dir: Path
    user: pwd.struct_passwd | None
    process: subprocess.Popen[bytes] | None = None
    _databases: int = field(default=0, repr=False)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    @classmethod
    def start(cls, *, durable: bool = False, timeout: float = 30.0) -> PostgresCluster:
        """initdb + postgres in a new temp dir; `durable=True` keeps fsync on (benchmarks)."""
        bin_dir = find_bin_dir()
        user = _run_as()
        # As root the server runs as another user, who must reach the folder: /tmp, not $TMPDIR.
        root = Path(tempfile.mkdtemp(prefix="kode-pg-", dir="/tmp" if user is not None else None))
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
        cluster = cls(root=root, port=0, bin_dir=bin_dir, user=user)
        try:
            cluster._initdb()
            for _attempt in range(3):  # a free port can be taken between probe and bind
                cluster.port = free_port()
                if cluster._launch(durable=durable, timeout=timeout):
                    return cluster
            raise PostgresUnavailable(f"postgres did not start:\n{cluster.log()}")
        except BaseException:
            cluster.stop()
            raise

    @property
    def _uid(self) -> int | None:
        return None if self.user is None else self.user.pw_uid

    @property
    def _gid(self) -> int | None:
        return None if self.user is None else self.user.pw_gid

    @property
    def _groups(self) -> list[int] | None:
        return None if self.user is None else []

    def _initdb(self) -> None:
        result = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.root / "data"),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            cwd=self.root,
            user=self._uid,
            group=self._gid,
            extra_groups=self._groups,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed:\n{result.stdout.decode()}{result.stderr.decode()}")

    def _launch(self, *, durable: bool, timeout: float) -> bool:
        settings = ["-c", "max_connections=100", "-c", "shared_buffers=64MB"]
        if not durable:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = (self.root / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.root / "data"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                *settings,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.root,
            start_new_session=True,
            user=self._uid,
            group=self._gid,
            extra_groups=self._groups,
        )
        log.close()
        deadline = time.monotonic() + timeout
        pid_file = self.root / "data" / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            time.sleep(0.02)
        raise PostgresUnavailable(f"postgres did not become ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "postgres.log").read_text(errors="replace")[-4000:]
        return ""

    async def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import asyncpg  # type: ignore[import-untyped]

        self._databases += 1
        name = name or f"test_{os.getpid()}_{self._databases}"
        conn = await asyncpg.connect(host=self.host, port=self.port, user=SUPERUSER, database="postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        finally:
            await conn.close()
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown, then remove every file of the cluster."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
