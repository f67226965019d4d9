"""Where kode keeps its files. Pure functions: nothing is created, on import or on call.

Each function takes an optional ``environ`` mapping (default ``os.environ``) so tests and
embedders can point kode elsewhere without touching the process environment.

- Config: ``$KODE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/kode``, else ``~/.config/kode`` on Linux
  and other Unix systems, and the platform's config folder (platformdirs) on macOS and Windows.
- Data (database, logs, server token): ``$KODE_DATA_DIR``, else ``$XDG_DATA_HOME/kode``, else
  ``~/.local/share/kode`` on Linux and other Unix systems, and platformdirs' data folder on macOS
  and Windows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "kode"
CONFIG_FILE_NAME = "config.toml"
PROJECT_DIR_NAME = ".kode"

_PLATFORMDIRS_PLATFORMS = ("darwin", "win32", "cygwin")


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def home_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's home: ``$HOME`` from ``environ`` when set, else the OS's idea of it."""
    home = _env(environ).get("HOME")
    return Path(home) if home else Path.home()


def _absolute_env_path(environ: Mapping[str, str], name: str) -> Path | None:
    """``environ[name]`` as a path, ignoring empty values and, as XDG says, relative ones."""
    value = environ.get(name, "")
    if not value:
        return None
    path = Path(value)
    if value == "~" or value.startswith(("~/", "~\\")):
        path = home_dir(environ) / value[2:]
    return path if path.is_absolute() else None


def _uses_platformdirs() -> bool:
    return sys.platform.startswith(_PLATFORMDIRS_PLATFORMS)


def user_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder holding the user's ``config.toml``, themes and agents."""
    env = _env(environ)
    for name, suffix in (("KODE_CONFIG_DIR", ""), ("XDG_CONFIG_HOME", APP_NAME)):
        path = _absolute_env_path(env, name)
        if path is not None:
            return path / suffix if suffix else path
    if _uses_platformdirs():
        import platformdirs

        return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    return home_dir(env) / ".config" / APP_NAME


def user_config_file(environ: Mapping[str, str] | None = None) -> Path:
    """The user's config file (it may not exist)."""
    return user_config_dir(environ) / CONFIG_FILE_NAME


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder for the database, logs and the server token."""
    env = _env(environ)
    path = _absolute_env_path(env, "KODE_DATA_DIR")
    if path is not None:
        return path
    if _uses_platformdirs():
        import platformdirs

        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    xdg = _absolute_env_path(env, "XDG_DATA_HOME")
    return (xdg if xdg is not None else home_dir(env) / ".local" / "share") / APP_NAME


def themes_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's own TUI themes."""
    return user_config_dir(environ) / "themes"


def agents_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's own agent definitions."""
    return user_config_dir(environ) / "agents"


def project_config_file(directory: Path) -> Path:
    """Where a project's config file lives inside ``directory``."""
    return directory / PROJECT_DIR_NAME / CONFIG_FILE_NAME


def find_project_config(cwd: Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """The nearest ``.kode/config.toml`` from ``cwd`` upward, or None.

    The search stops before the user's home folder (``~/.kode`` is not a project) and at the
    filesystem root. A ``cwd`` outside the home folder is searched up to the root.
    """
    home = home_dir(environ)
    try:
        home = home.resolve()
    except OSError:
        pass
    start = cwd.resolve()
    for directory in (start, *start.parents):
        if directory == home:
            return None
        candidate = project_config_file(directory)
        if candidate.is_file():
            return candidate
    return None
