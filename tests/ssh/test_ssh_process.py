"""The remote command line on its own, run here by a plain `sh` (as a login shell would run it):
the prelude puts the command in a process group of its own even when nothing else did (servers
that do not `setsid` their sessions), and reports what `run` needs on the control stream."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from kode.runtime.ssh_process import remote_command

BASH = shutil.which("bash") or "/bin/bash"


def _run(command: str | list[str], cwd: str, track_cwd: bool = False) -> subprocess.CompletedProcess[bytes]:
    line = remote_command(command, cwd, track_cwd=track_cwd, bash=BASH)
    # start_new_session=False: `sh` stays in pytest's process group, so bash is not a group leader.
    return subprocess.run(["sh", "-c", line], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)


def test_the_command_leads_its_own_process_group(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = _run('read -r s < /proc/$$/stat; s=(${s##*") "}); echo "pid=$$ pgid=${s[2]}"', str(tmp_path))
    out = done.stdout.decode()
    match = re.search(r"pid=(\d+) pgid=(\d+)", out)
    assert match and match.group(1) == match.group(2), (out, done.stderr)
    assert int(match.group(2)) != os.getpgrp()
    assert f"\x1ekode-pid:{match.group(1)}\x00".encode() in done.stderr
    assert "KODE_SETSID" not in (_run("env", str(tmp_path)).stdout.decode())


def test_records_and_output_streams(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sub").mkdir()
    done = _run("cd sub; echo out; echo err >&2; exit 3", str(tmp_path), track_cwd=True)
    assert done.returncode == 3
    assert done.stdout == b"\x1ekode-start\x00out\nerr\n"
    assert f"\x1ekode-cwd:{(tmp_path / 'sub').resolve()}\x00".encode() in done.stderr
    missing = _run(["/nonexistent/prog"], str(tmp_path))
    assert missing.returncode == 127 and b"\x1ekode-nostart:No such file or directory\x00" in missing.stderr
    nocwd = _run("true", str(tmp_path / "nope"))
    assert nocwd.returncode == 1 and b"\x1ekode-nocwd\x00" in nocwd.stderr


def test_argv_is_passed_verbatim(tmp_path) -> None:  # type: ignore[no-untyped-def]
    args = ["printf", "[%s]", "a b", "$HOME", "'q'", '"d"', "*", "x\ny", ""]
    done = _run(args, str(tmp_path))
    assert done.stdout.split(b"\x1ekode-start\x00", 1)[1] == b"[a b][$HOME]['q'][\"d\"][*][x\ny][]"
