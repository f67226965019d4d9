"""The real thing in a real terminal: the TUI under tmux, against the fake provider over HTTP.

Types a prompt with `send-keys`, reads the answer with `capture-pane`, quits with Ctrl+C twice.
Bounded: every wait has a deadline and the tmux server is killed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kode.testing.fake_provider import FakeProvider

TMUX = shutil.which("tmux")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(TMUX is None, reason="tmux is not installed")]


class Tmux:
    def __init__(self) -> None:
        self.socket = f"kode-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        result = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=10)  # type: ignore[list-item]
        return result.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "kode")

    def wait_for(self, needle: str, *, count: int = 1, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(needle) >= count:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{screen}")

    def kill(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=10)  # type: ignore[list-item]


def test_kode_tui_in_tmux_answers_a_prompt(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("demo\n")
    done = tmp_path / "exit-code"
    env = {
        "KODE_MODEL": "openai/gpt-4o-mini",
        "OPENAI_API_KEY": "x",
        "KODE_CONFIG_DIR": str(tmp_path / "config"),
        "KODE_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
    }
    tmux = Tmux()
    with FakeProvider(echo=True) as provider:
        env["KODE_API_BASE"] = provider.openai_base
        exports = " ".join(f"{key}={value!s}" for key, value in env.items())
        kode = Path(sys.executable).with_name("kode")  # the installed command, as a person runs it
        command = f"cd {project} && env {exports} {kode}; echo $? > {done}"
        try:
            tmux.run("new-session", "-d", "-s", "kode", "-x", "110", "-y", "30", command)
            tmux.wait_for("Message kode")
            tmux.run("send-keys", "-t", "kode", "-l", "hello from a real terminal")
            tmux.run("send-keys", "-t", "kode", "Enter")
            screen = tmux.wait_for("hello from a real terminal", count=2, timeout=60)
            assert "› hello from a real terminal" in screen
            tmux.wait_for("ready")
            assert "openai/gpt-4o-mini" in tmux.screen()
            tmux.run("send-keys", "-t", "kode", "C-c")
            tmux.run("send-keys", "-t", "kode", "C-c")
            deadline = time.monotonic() + 20
            while not done.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert done.exists() and done.read_text().strip() == "0"

            # `kode --continue` reopens the same session with its history on screen
            done.unlink()
            tmux.run("kill-session", "-t", "kode")
            again = f"cd {project} && env {exports} {kode} --continue; echo $? > {done}"
            tmux.run("new-session", "-d", "-s", "kode", "-x", "110", "-y", "30", again)
            tmux.wait_for("› hello from a real terminal", timeout=30)
            tmux.wait_for("$0.0", timeout=15)  # the resumed session's cost, once the status line repaints
            tmux.run("send-keys", "-t", "kode", "C-c")
            tmux.run("send-keys", "-t", "kode", "C-c")
        finally:
            tmux.kill()
    history = list((tmp_path / "data").rglob("*.jsonl"))
    assert history and "hello from a real terminal" in history[0].read_text()
    assert os.environ.get("KODE_CONFIG_DIR") != env["KODE_CONFIG_DIR"]
