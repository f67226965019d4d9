"""Sessions that survive, through the real binary: continue, resume, the sessions commands, busy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

KODE = [sys.executable, "-m", "kode"]


def kode(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KODE, *args], env=env, cwd=cwd, input="", capture_output=True, text=True, timeout=180)


def test_continue_and_resume_see_the_whole_history(provider, env, tmp_path) -> None:
    first = json.loads(kode(["ask", "remember the word kumquat", "-o", "json"], env, tmp_path).stdout)
    second = kode(["ask", "--continue", "what word?", "-o", "json"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["session_id"] == first["session_id"]
    messages = provider.requests[-1].body["messages"]
    contents = [m.get("content") for m in messages]
    assert "remember the word kumquat" in contents and contents[-1] == "what word?"
    third = kode(["ask", "--resume", first["session_id"][:10], "and again?", "-o", "json"], env, tmp_path)
    assert json.loads(third.stdout)["session_id"] == first["session_id"]
    assert len([m for m in provider.requests[-1].body["messages"] if m["role"] == "user"]) == 3


def test_sessions_commands(env, tmp_path) -> None:
    sid = json.loads(kode(["ask", "hello there", "-o", "json"], env, tmp_path).stdout)["session_id"]
    listed = json.loads(kode(["sessions", "list", "--json"], env, tmp_path).stdout)
    assert [s["id"] for s in listed] == [sid] and listed[0]["title"] == "hello there"
    assert listed[0]["status"] == "completed" and listed[0]["cost_usd"] > 0
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    assert "No sessions" in kode(["sessions", "list"], env, elsewhere).stdout
    assert sid in kode(["sessions", "list", "--all"], env, elsewhere).stdout
    markdown = kode(["sessions", "export", sid], env, tmp_path).stdout
    assert "## User" in markdown and "hello there" in markdown
    exported = json.loads(kode(["sessions", "export", sid, "--format", "json"], env, tmp_path).stdout)
    assert exported["session"]["id"] == sid and exported["events"][0]["type"] == "session_started"
    assert kode(["sessions", "rename", sid, "Greeting"], env, tmp_path).returncode == 0
    assert "Greeting" in kode(["sessions", "show", sid], env, tmp_path).stdout
    forked = kode(["sessions", "fork", sid, "--at", "3"], env, tmp_path).stdout.strip()
    assert forked.startswith("ses_") and forked != sid
    assert kode(["sessions", "delete", forked], env, tmp_path).returncode == 0
    missing = kode(["sessions", "show", "ses_nope"], env, tmp_path)
    assert missing.returncode == 2 and "ses_nope" in missing.stderr


def test_no_save_leaves_nothing_behind(env, tmp_path) -> None:
    assert kode(["ask", "--no-save", "secret"], env, tmp_path).returncode == 0
    assert json.loads(kode(["sessions", "list", "--json"], env, tmp_path).stdout) == []


def test_continue_without_a_session_is_a_usage_error(env, tmp_path) -> None:
    result = kode(["ask", "--continue", "hi"], env, tmp_path)
    assert result.returncode == 2 and "without --continue" in result.stderr


def test_a_second_writer_is_told_the_session_is_busy(env, tmp_path) -> None:
    sid = json.loads(kode(["ask", "start", "-o", "json"], env, tmp_path).stdout)["session_id"]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LEASE, sid],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = kode(["ask", "--resume", sid, "me too"], env, tmp_path)
        assert busy.returncode == 1
        assert "busy" in busy.stderr and "pid" in busy.stderr
    finally:
        holder.terminate()
        holder.wait(10)


HOLD_LEASE = """
import asyncio, sys
from kode.store import Store
async def main():
    store = await Store.open()
    lease = await store.acquire(sys.argv[1], "test holder")
    print("held", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""
