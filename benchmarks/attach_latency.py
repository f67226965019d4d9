"""Attach latency: keypress to echo, idle, for the TUI local, attached over HTTP and over SSH.

Three ways to run the same TUI, each in a real pseudo-terminal that this script plays:
- local: `python -m kode.cli.tui_cmd` on an in-process session (the baseline);
- attach: `python -m kode attach URL` against a `kode serve` subprocess; the TUI is here, the
  session is in the server process (the prompt is the TUI's own, so typing does not wait on
  the server: this measures what attaching costs the TUI's event loop);
- ssh: `ssh -tt -p PORT 127.0.0.1` into the same server's `--ssh` door, which runs the TUI in a
  pty on the server side, so a keypress goes ssh → server → pty → TUI and the echo comes back
  the same way.

No turn is running. Like tui_streaming.py, the script answers Textual's synchronized-output
query, then types one character at a time (60–120 ms apart, jittered so the keys do not lock
onto the TUI's timers) and times from the write to the pty until the frame that shows the
character has come back whole (up to its end-of-synchronized-update marker: when a terminal
would paint it). Every key is a character not yet on the screen (Cyrillic, then Greek
letters), so a repaint of the prompt line (the cursor blinks) cannot pass for the echo of the
newest key. The first keys are a warm-up and not counted. The fake provider serves nothing
while idle; it is there so each process starts as it would against a real one.

    python benchmarks/attach_latency.py [--samples N]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import random
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

from _server import isolated_env, serve

from kode.testing.fake_provider import FakeProvider
from kode.testing.sshd import generate_key

SAMPLES = 40
WARMUP = 5
ROWS, COLS = 40, 120
SETTLE = 3.0  # seconds after the prompt shows: the local TUI still imports litellm in the background
START_TIMEOUT = 30.0
KEY_TIMEOUT = 5.0
SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"
FRAME_END = b"\x1b[?2026l"
READY = b"Message kode"  # the prompt's placeholder
# Single-width letters no other part of kode's screen shows: each key is new on the screen.
KEYS = (
    [chr(c) for c in range(0x430, 0x450)]
    + [chr(c) for c in range(0x410, 0x430)]
    + [chr(c) for c in range(0x3B1, 0x3CA)]
)
SSH_PORT = re.compile(r"ssh on 127\.0\.0\.1:(\d+)")


class Closed(RuntimeError):
    pass


class Terminal:
    """The far end of a pty: reads the TUI's output, answers the synchronized-output query."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.tail = bytearray()  # the last output, for an error message
        self.closed = False

    def pump(self, timeout: float) -> float | None:
        """Read what is there (waiting up to `timeout`); return when it was read."""
        if self.closed:
            return None
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            chunk = os.read(self.fd, 1 << 20)
        except OSError:  # EIO: the child side is gone
            chunk = b""
        now = time.perf_counter()
        if not chunk:
            self.closed = True
            return None
        if SYNC_QUERY in chunk:
            os.write(self.fd, SYNC_REPLY)
        self.buffer.extend(chunk)
        del self.buffer[:-200_000]
        self.tail.extend(chunk)
        del self.tail[:-2_000]
        return now

    def shown(self, pattern: bytes, whole_frame: bool) -> bool:
        at = self.buffer.find(pattern)
        return at >= 0 and (not whole_frame or self.buffer.find(FRAME_END, at) >= 0)

    def wait_for(self, pattern: bytes, timeout: float, *, whole_frame: bool = False) -> float:
        """When `pattern` was read; with `whole_frame`, when the frame holding it was complete
        (a terminal honouring synchronized output shows a frame only at its end marker)."""
        deadline = time.perf_counter() + timeout
        while True:
            if self.shown(pattern, whole_frame):
                return time.perf_counter()
            if self.closed:
                raise Closed(f"the terminal closed before {pattern!r} showed; last output: {self._shown()}")
            if time.perf_counter() >= deadline:
                raise TimeoutError(f"{pattern!r} not seen in {timeout:.0f} s; last output: {self._shown()}")
            read_at = self.pump(min(0.01, max(0.0, deadline - time.perf_counter())))
            if read_at is not None and self.shown(pattern, whole_frame):
                return read_at

    def idle(self, seconds: float) -> None:
        until = time.perf_counter() + seconds
        while time.perf_counter() < until and not self.closed:
            self.pump(min(0.01, max(0.0, until - time.perf_counter())))

    def _shown(self) -> str:
        text = re.sub(rb"\x1b\[[0-9;?$>=]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]", b"", bytes(self.tail))
        return repr(text.decode(errors="replace")[-400:])


def spawn(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int]:
    """argv in a new pty of ROWS x COLS (sized before exec, so the child never sees 0x0)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    return pid, fd


def reap(pid: int, fd: int, term: Terminal | None) -> None:
    """SIGTERM, then SIGKILL after 3 s; keep draining the pty so the child can never block on it."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.perf_counter() + 3.0
    while time.perf_counter() < deadline:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            break
        if term is not None and not term.closed:
            term.pump(0.02)
        else:
            time.sleep(0.02)
    else:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    os.close(fd)


def time_keys(argv: list[str], env: dict[str, str], cwd: Path, samples: int) -> list[float]:
    """Start the TUI in a pty, wait until it is idle, type warm-up + `samples` keys; the latencies."""
    env = {**env, "TERM": "xterm-256color"}
    pid, fd = spawn(argv, env, cwd)
    term: Terminal | None = None
    try:
        term = Terminal(fd)
        term.wait_for(READY, START_TIMEOUT)
        term.idle(SETTLE)
        rng = random.Random(2026)
        latencies: list[float] = []
        for i, key in enumerate(KEYS[: WARMUP + samples]):
            typed = key.encode()
            term.buffer.clear()  # the TUI repaints only what changed: look for the new key
            sent = time.perf_counter()
            os.write(fd, typed)
            seen = term.wait_for(typed, KEY_TIMEOUT, whole_frame=True)
            if i >= WARMUP:
                latencies.append(seen - sent)
            term.idle(rng.uniform(0.06, 0.12))
        return latencies
    finally:
        reap(pid, fd, term)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def measure(samples: int = SAMPLES) -> dict[str, list[float]]:
    if samples > len(KEYS) - WARMUP:
        raise SystemExit(f"at most {len(KEYS) - WARMUP} samples")
    ssh = shutil.which("ssh")
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="kode-bench-attach-") as tmp, FakeProvider(echo=True) as fp:
        root = Path(tmp)
        project = root / "project"
        project.mkdir()
        python = sys.executable

        local_env = isolated_env(root / "local", fp.openai_base)
        results["local"] = time_keys([python, "-m", "kode.cli.tui_cmd"], local_env, project, samples)

        extra: list[str] = []
        key = root / "keys" / "id"
        if ssh is not None:
            key.parent.mkdir()
            (key.parent / "authorized_keys").write_text(generate_key(key) + "\n")
            extra = ["--ssh", "--ssh-port", "0", "--authorized-keys", str(key.parent / "authorized_keys")]
        with serve(fp.openai_base, extra_args=extra) as server:
            client_env = {**isolated_env(root / "client", fp.openai_base), "KODE_SERVER_TOKEN": server.token}
            results["attach"] = time_keys([python, "-m", "kode", "attach", server.url], client_env, project, samples)
            if ssh is not None:
                ports = [m.group(1) for line in server.stderr_lines if (m := SSH_PORT.search(line))]
                if not ports:
                    raise RuntimeError("kode serve --ssh printed no ssh port:\n" + "\n".join(server.stderr_lines[-20:]))
                argv = [
                    ssh, "-F", "/dev/null", "-tt", "-p", ports[0], "-i", str(key),
                    "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
                    "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                    "-o", "LogLevel=ERROR", "127.0.0.1",
                ]  # fmt: skip
                results["ssh"] = time_keys(argv, client_env, project, samples)
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=SAMPLES, help=f"keys timed per mode (default {SAMPLES})")
    args = parser.parse_args(argv or [])
    results = measure(args.samples)
    local, attach = results["local"], results["attach"]
    ssh = results.get("ssh")
    over_ssh = f"over kode's SSH server {_ms(statistics.median(ssh))} ms" if ssh else "no ssh client: SSH not measured"
    print(
        f"attach latency: keypress→echo median {_ms(statistics.median(attach))} ms, p95 {_ms(_p95(attach))} ms "
        f"(local TUI {_ms(statistics.median(local))} ms; {over_ssh})"
    )
    labels: dict[str, str] = {
        "local": "local TUI (in-process session)",
        "attach": "kode attach over HTTP",
        "ssh": "ssh → kode serve --ssh (TUI in a server-side pty)",
    }
    figures: dict[str, float] = {}
    for name, values in results.items():
        print(
            f"attach latency   {labels[name]:<50} median {_ms(statistics.median(values))} ms, "
            f"p95 {_ms(_p95(values))} ms, max {_ms(max(values))} ms (n={len(values)})"
        )
        figures[f"{name}_median"] = statistics.median(values)
        figures[f"{name}_p95"] = _p95(values)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
