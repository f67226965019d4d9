"""TUI while streaming: frame rate and key-to-screen latency, in a real pseudo-terminal.

The fake provider streams a ~2,000-token Markdown answer (headings, lists, code blocks) at
~500 tokens/s through litellm into the real TUI process (`python -m kode.cli.tui_cmd`) running
in a pty. This script plays the terminal: it answers Textual's synchronized-output query so every
frame arrives wrapped in begin/end markers, counts frames, and types a character every 100 ms,
timing how long until the prompt shows it. Targets: > 30 frames/s while streaming, typing lag
well under 100 ms.

    python benchmarks/tui_streaming.py
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

TOKENS = 2000
RATE = 500  # tokens per second
PROMPT_TOKENS = 1000
CHARS_PER_TOKEN = 4
SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"
FRAME_END = b"\x1b[?2026l"
TYPED = "§"


def answer_text(tokens: int) -> str:
    parts: list[str] = []
    section = 0
    while sum(len(p) for p in parts) < tokens * CHARS_PER_TOKEN:
        section += 1
        parts.append(f"## Step {section}\n\nWe change the **parser** so that each `token` is read once, then")
        parts.append(" the loop moves on. This keeps memory flat and the code easy to follow.\n\n")
        parts.append("- read the next line\n- split it into fields\n- validate each field\n\n")
        parts.append(f"```python\ndef step_{section}(line):\n    fields = line.split(',')\n    return [f.strip() for f in fields]\n```\n\n")
    return "".join(parts)[: tokens * CHARS_PER_TOKEN]


class Terminal:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.frames: list[float] = []
        self.done_marker = b""
        self.finished = False

    def pump(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 1 << 20)
        except OSError:
            return
        now = time.perf_counter()
        if SYNC_QUERY in chunk:
            os.write(self.fd, SYNC_REPLY)
        self.frames.extend(now for _ in range(chunk.count(FRAME_END)))
        self.buffer.extend(chunk)
        del self.buffer[:-200_000]
        if self.done_marker and self.done_marker in chunk:
            self.finished = True

    def wait_for(self, pattern: bytes, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if pattern in self.buffer:
                return time.perf_counter()
            self.pump(0.002)
        raise TimeoutError(f"{pattern!r} not seen")


def start_server(env: dict[str, str], project: Path) -> tuple[subprocess.Popen[str], list[str], str]:
    """`kode serve` on a free port, for `--attach`: the session in its own process."""
    server = subprocess.Popen(
        [sys.executable, "-m", "kode", "serve", "--port", "0"],
        env=env, cwd=project, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert server.stderr is not None
    while "listening on" not in (line := server.stderr.readline()):
        if not line:
            raise RuntimeError("kode serve did not start")
    url = line.split("listening on ", 1)[1].split()[0]
    token = (Path(env["KODE_DATA_DIR"]) / "server-token").read_text().strip()
    return server, [sys.executable, "-m", "kode", "attach", url], token


def main(argv: list[str] | None = None) -> dict[str, float]:
    """`--attach`: the TUI attached to a `kode serve` process (the session out of process)
    instead of the session on a thread of the TUI's own process."""
    attach = "--attach" in (argv if argv is not None else sys.argv[1:])
    text = answer_text(TOKENS)
    delay = CHARS_PER_TOKEN / (RATE * CHARS_PER_TOKEN)  # one token-sized chunk per 1/RATE s
    reply = {"text": text, "chunk_size": CHARS_PER_TOKEN, "delay": delay, "usage": [PROMPT_TOKENS, TOKENS]}
    with tempfile.TemporaryDirectory() as tmp:
        # The provider runs in its own process, so serving chunks does not steal this process's
        # time from reading the terminal (that would count against the TUI's latency).
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps([reply]))
        provider = subprocess.Popen(
            [sys.executable, "-m", "kode.testing.fake_provider", "--script", str(script)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert provider.stdout is not None
        base = provider.stdout.readline().strip()
        project = Path(tmp) / "project"
        project.mkdir()
        env = dict(os.environ)
        env.update(
            TERM="xterm-256color", KODE_MODEL="openai/gpt-4o-mini", KODE_API_BASE=f"{base}/v1",
            OPENAI_API_KEY="x", KODE_CONFIG_DIR=f"{tmp}/config", KODE_DATA_DIR=f"{tmp}/data",
        )
        server = None
        command = [sys.executable, "-m", "kode.cli.tui_cmd"]
        if attach:
            server, command, token = start_server(env, project)
            env["KODE_SERVER_TOKEN"] = token
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(project)
            os.execve(sys.executable, command, env)
        try:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            term = Terminal(fd)
            term.wait_for(b"Message kode", 15)
            settle = time.perf_counter() + 3.0  # let litellm's import finish in the background
            while time.perf_counter() < settle:
                term.pump(0.01)
            os.write(fd, b"go\r")
            started = term.wait_for(b"Step 1", 30)
            term.frames.clear()
            latencies: list[float] = []
            typed = 0
            term.done_marker = f"{(PROMPT_TOKENS + TOKENS) / 1000:.1f}k tok".encode()  # the status line after the turn
            stream_end = None
            while stream_end is None and time.perf_counter() - started < 30:
                typed += 1
                term.buffer.clear()  # the prompt repaints only what changed: look for the new key
                sent = time.perf_counter()
                os.write(fd, TYPED.encode())
                seen = term.wait_for(TYPED.encode(), 5)
                latencies.append(seen - sent)
                pause_until = time.perf_counter() + 0.1
                while time.perf_counter() < pause_until:
                    term.pump(0.005)
                if term.finished:
                    stream_end = time.perf_counter()
            finished = stream_end or time.perf_counter()
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
            provider.terminate()
            provider.wait()
            if server is not None:
                server.terminate()
                server.wait()
    frames = [t for t in term.frames if started <= t <= finished]
    duration = finished - started
    gaps = [b - a for a, b in zip(frames, frames[1:])] or [0.0]
    fps = len(frames) / duration if duration else 0.0
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    if os.environ.get("KODE_BENCH_DEBUG"):
        print("gaps", sorted(((round(b - a, 3), round(a - started, 2)) for a, b in zip(frames, frames[1:])), reverse=True)[:6])
        print("latencies", [round(x, 3) for x in latencies])
    print(f"tui streaming{' (attached)' if attach else ''}: {TOKENS} tokens at {RATE} tok/s took {duration:.2f} s on screen")
    print(f"tui frames     {fps:.1f} frames/s while streaming ({len(frames)} frames), longest gap {max(gaps) * 1000:.0f} ms")
    print(
        f"tui typing     key-to-screen median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms (n={len(latencies)})"
    )
    return {"fps": fps, "key_median": statistics.median(latencies), "key_p95": p95, "duration": duration}


if __name__ == "__main__":
    main()
