"""TUI start-up: time to first paint and to a usable prompt, in a real pseudo-terminal.

Runs the TUI (`python -m kode.cli.tui_cmd`, the function `kode` calls) against the fake provider
in a pty, and measures from fork to:
- first paint: the prompt's placeholder is on the screen;
- usable prompt: a key typed right after the first paint is echoed in the prompt.
Target: both under 500 ms.

    python benchmarks/tui_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLACEHOLDER = b"Message kode"
ROOT = Path(__file__).resolve().parents[1]


def start_fake_provider() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kode.testing.fake_provider", "--echo"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def read_until(fd: int, needle: bytes, deadline: float, buffer: bytearray) -> bool:
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.005)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            buffer.extend(chunk)
            if needle in buffer:
                return True
    return False


def one_run(env: dict[str, str], cwd: Path) -> tuple[float, float]:
    argv = [sys.executable, "-m", "kode.cli.tui_cmd"]
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    try:
        os.set_blocking(fd, False)
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
        buffer = bytearray()
        if not read_until(fd, PLACEHOLDER, started + 10, buffer):
            raise RuntimeError("no first paint within 10 s:\n" + buffer.decode(errors="replace")[-2000:])
        first_paint = time.perf_counter() - started
        buffer.clear()
        os.write(fd, b"Q")
        if not read_until(fd, b"Q", started + 10, buffer):
            raise RuntimeError("typed key never echoed")
        usable = time.perf_counter() - started
        return first_paint, usable
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def main(runs: int = 10) -> dict[str, float]:
    provider, url = start_fake_provider()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp) / "proj"
            cwd.mkdir()
            (cwd / "a.py").write_text("x = 1\n")
            env = dict(os.environ)
            env.update(
                TERM="xterm-256color", KODE_MODEL="openai/gpt-4o-mini", KODE_API_BASE=f"{url}/v1",
                OPENAI_API_KEY="x", KODE_CONFIG_DIR=f"{tmp}/config", KODE_DATA_DIR=f"{tmp}/data",
                COLUMNS="110", LINES="30",
            )
            one_run(env, cwd)  # warm the page cache
            paints, usables = [], []
            for _ in range(runs):
                paint, usable = one_run(env, cwd)
                paints.append(paint)
                usables.append(usable)
    finally:
        provider.terminate()
        provider.wait()
    for label, values in (("first paint", paints), ("usable prompt", usables)):
        print(
            f"tui {label:<14} median {statistics.median(values) * 1000:.0f} ms, "
            f"min {min(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms (n={len(values)})"
        )
    return {"first_paint": statistics.median(paints), "usable_prompt": statistics.median(usables)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    main(parser.parse_args().runs)
