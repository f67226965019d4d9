"""Shared by the server benchmarks: a real `kode serve` subprocess against the fake provider.

The server runs as its own process (`kode serve --port 0` on 127.0.0.1, in an isolated HOME,
config and data dir), so whatever the benchmark does on its side (parsing 100 SSE streams,
running the fake provider) never competes with the server's event loop for the GIL, and the
server's memory can be read from /proc/PID/status. The URL comes from the server's
"listening on URL" line on stderr, the token from `server-token` in the isolated data dir.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from _util import KODE

MODEL = "openai/gpt-4o-mini"
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def isolated_env(home: Path, api_base: str, **settings: str) -> dict[str, str]:
    """The environment of a served kode: own HOME/config/data, the fake provider, no stray KODE_*.

    `settings` are extra KODE_* variables (e.g. KODE_SERVER__MAX_SESSIONS="64").
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("KODE_")}
    env.update(
        {
            "HOME": str(home),
            "KODE_CONFIG_DIR": str(home / "config"),
            "KODE_DATA_DIR": str(home / "data"),
            "KODE_MODEL": MODEL,
            "KODE_API_BASE": api_base,
            "OPENAI_API_KEY": "sk-bench",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            **settings,
        }
    )
    return env


@dataclass
class ServeProcess:
    url: str
    token: str
    proc: subprocess.Popen[bytes]
    workspace: Path
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def status(self) -> dict[str, str]:
        """/proc/PID/status as a dict (VmRSS, VmHWM, Threads, …)."""
        lines = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}

    def rss_mb(self, key: str = "VmRSS") -> float:
        """Current (VmRSS) or peak (VmHWM) resident memory of the server process, in MB."""
        return int(self.status()[key].split()[0]) / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(
    api_base: str,
    *,
    extra_args: list[str] | None = None,
    settings: dict[str, str] | None = None,
    start_timeout: float = 30.0,
) -> Iterator[ServeProcess]:
    """Run `kode serve --port 0` in a fresh HOME; yield once it listens; always stop it."""
    with tempfile.TemporaryDirectory(prefix="kode-bench-serve-") as tmp:
        home = Path(tmp)
        workspace = home / "ws"
        workspace.mkdir()
        seed_workspace(workspace)
        env = isolated_env(home, api_base, **(settings or {}))
        argv = [KODE, "serve", "--host", "127.0.0.1", "--port", "0", *(extra_args or [])]
        proc = subprocess.Popen(
            argv, cwd=workspace, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        lines: list[str] = []
        found: dict[str, str] = {}
        ready = threading.Event()

        def drain() -> None:  # keep reading stderr so the server can never block on a full pipe
            assert proc.stderr is not None
            for raw in proc.stderr:
                line = raw.decode(errors="replace").rstrip()
                lines.append(line)
                if (match := LISTENING.search(line)) is not None:
                    found["url"] = match.group(1)
                    ready.set()
            ready.set()

        reader = threading.Thread(target=drain, name="kode-serve-stderr", daemon=True)
        reader.start()
        try:
            if not ready.wait(start_timeout) or "url" not in found:
                raise RuntimeError("kode serve did not start:\n" + "\n".join(lines[-20:]))
            token_file = home / "data" / "server-token"
            deadline = time.monotonic() + 5
            while not token_file.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            token = token_file.read_text().strip()
            yield ServeProcess(found["url"], token, proc, workspace, lines)
        finally:
            stop(proc)
            reader.join(5)
            if proc.stderr is not None:
                proc.stderr.close()


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def seed_workspace(workspace: Path, files: int = 20) -> None:
    """A small project for read_file / grep / list_files to work on."""
    src = workspace / "src"
    src.mkdir()
    for i in range(files):
        body = "\n".join(f"def function_{i}_{j}(x):\n    return x * {j}  # TODO tune\n" for j in range(40))
        (src / f"module_{i}.py").write_text(f'"""Module {i}."""\n\n{body}\n')
    (workspace / "README.md").write_text("# bench project\n\nA workspace for the server benchmarks.\n")
