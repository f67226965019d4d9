"""What every session-running command shares: its flags, the checks before a session opens,
and the fast exit.

`kode ask` and the TUI take the same model, permission and session flags and must judge them
the same way: one broken config file, one missing key, one line of error, exit code 2.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kode.cli import exit_codes
from kode.config import LoadedConfig


@dataclass(slots=True)
class SessionFlags:
    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    max_turns: int | None = None
    permission_mode: str | None = None
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    cwd: Path | None = None
    system: str | None = None
    append_system: str | None = None
    continue_latest: bool = False
    resume: str | None = None
    save: bool = True
    remote: str | None = None
    """`ssh://[user@]host[:port]/path`: run the tools there (`--remote`)."""

    def overrides(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Config overrides from flags, and the flag each came from (for `config show`)."""
        pairs = {
            "models.main": (self.model, "--model"),
            "provider.api_base": (self.api_base, "--api-base"),
            "provider.api_key": (self.api_key, "--api-key"),
            "agent.max_turns": (self.max_turns, "--max-turns"),
            "permissions.mode": (self.permission_mode, "--permission-mode"),
            "permissions.allow": (self.allow or None, "--allow"),
            "permissions.deny": (self.deny or None, "--deny"),
            "agent.system_prompt": (self.system, "--system"),
            "agent.append_system_prompt": (self.append_system, "--append-system"),
        }
        values = {key: value for key, (value, _) in pairs.items() if value is not None}
        return values, {key: label for key, (_, label) in pairs.items() if key in values}


class Refused(Exception):
    """A command cannot start; `str()` is the one line to print, `code` the exit code."""

    def __init__(self, message: str, code: int = exit_codes.USAGE) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = exit_codes.USAGE) -> int:
    sys.stderr.write(f"kode: {message}\n")
    return code


@dataclass(slots=True)
class Prepared:
    cwd: Path
    loaded: LoadedConfig
    api_key: str | None
    remote: str | None = None


def prepare(flags: SessionFlags) -> Prepared:
    """Workspace, effective config and API key, or `Refused` with what to do about it."""
    from kode.config import ConfigError, load_config
    from kode.config.trust import project_escalation
    from kode.llm.keys import resolve_api_key

    cwd = (flags.cwd or Path.cwd()).resolve()
    if not cwd.is_dir():
        raise Refused(f"--cwd {cwd} is not a directory")
    overrides, labels = flags.overrides()
    try:
        loaded = load_config(cwd, overrides=overrides, override_labels=labels)
    except ConfigError as exc:
        raise Refused(f"config error:\n{exc}" if "\n" in str(exc) else f"config error: {exc}") from None
    escalation = project_escalation(loaded)
    if escalation:
        raise Refused(f"config error: {escalation}")
    settings = loaded.settings
    api_key, problem = resolve_api_key(
        settings.models.main, settings.provider.api_key or None, settings.provider.api_base or None, os.environ
    )
    if problem:
        raise Refused(problem)
    if flags.remote:
        from kode.runtime.ssh_target import SshTarget

        try:
            SshTarget.parse(flags.remote)
        except ValueError as exc:
            raise Refused(f"--remote: {exc}") from None
    return Prepared(cwd, loaded, api_key, flags.remote)


def fast_exit(code: int) -> None:
    """Skip interpreter teardown once litellm is loaded: it costs about a second, for nothing.

    Output is flushed first and no child process is running (tools reap their process groups),
    so there is nothing left for teardown to do that matters.
    """
    if "litellm" not in sys.modules:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def warm_litellm() -> None:
    """Import litellm in a background thread (seconds of imports), so the first turn does not
    wait for it and nothing in the foreground (the TUI's first paint, a server's first request) does."""

    def load() -> None:
        try:
            from kode.llm.litellm_adapter import load_litellm

            load_litellm()
        except Exception:  # noqa: BLE001 - the first model call will import it again and report
            pass
        # litellm leaves a heap of long-lived objects; without this every full collection scans
        # them all and freezes the UI for ~0.4 s. Frozen objects are never scanned again.
        gc.freeze()

    threading.Thread(target=load, name="kode-warm-litellm", daemon=True).start()
