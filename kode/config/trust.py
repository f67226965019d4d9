"""What a project's own config file may not decide for the person running kode.

A repository can ship `.kode/config.toml`. Cloning one must not be enough to switch off every
approval, so `permissions.mode = "bypass"` is honoured only from the user's own file, the
environment or a flag.
"""

from __future__ import annotations

from kode.config.loader import LoadedConfig


def project_escalation(loaded: LoadedConfig) -> str | None:
    """An error message when the project file tries to grant itself bypass mode, else None."""
    source = loaded.source("permissions.mode")
    if loaded.settings.permissions.mode == "bypass" and source.startswith("project:"):
        where = source.removeprefix("project:").strip()
        return (
            f"{where}: permissions.mode: a project file cannot enable bypass; set it in "
            "~/.config/kode/config.toml or pass --permission-mode bypass"
        )
    return None
