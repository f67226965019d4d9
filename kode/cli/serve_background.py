"""`kode serve --socket auto --background`: start or reuse a detached server on a unix socket.

This is what `kode attach ssh://host/path` runs on the remote host. It finds the server for
the workspace (one socket per workspace, in the data dir), starts one detached if none answers,
waits until it does, and prints one JSON line: where the socket is, the token, whether it was
reused. That line travels back inside the SSH channel; the token is never on a command line
and never in a log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from kode.cli import exit_codes
from kode.cli.common import Prepared, Refused

START_TIMEOUT = 60.0


def healthy(path: Path) -> bool:
    """A kode server answers on this socket (not merely some listener)."""
    import httpx

    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), timeout=2.0) as http:
            return http.get("http://localhost/v1/health").json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


def run_background(prepared: Prepared, options) -> int:  # type: ignore[no-untyped-def]
    from kode.cli.serve_cmd import session_argv, socket_path
    from kode.config.paths import data_dir
    from kode.server.runner import ServeError, choose_token

    path = socket_path(options.socket or "auto", prepared.cwd)
    try:
        token = choose_token(None, options.token_file).token
    except ServeError as exc:
        raise Refused(str(exc)) from None
    reused = healthy(path)
    if not reused:
        log = data_dir() / "logs" / f"serve-{path.stem}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "kode", "serve", "--cwd", str(prepared.cwd), "--socket", str(path), *session_argv(options, serve=True)]
        with open(log, "ab") as out, open(os.devnull, "rb") as devnull:
            process = subprocess.Popen(argv, stdin=devnull, stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not healthy(path):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
                why = tail[0] if tail else "no output"
                raise Refused(f"the server did not start ({why}); its log is {log}", exit_codes.AGENT_ERROR)
            time.sleep(0.05)
    sys.stdout.write(json.dumps({"socket": str(path), "token": token, "reused": reused, "cwd": str(prepared.cwd)}) + "\n")
    sys.stdout.flush()
    return exit_codes.OK
