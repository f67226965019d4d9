"""Everything the app is given besides its SessionClient: attributes down, set by the caller."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kode.tui.actions import SessionActions

DEFAULT_CONTEXT_WINDOW = 200_000
DEFAULT_MODELS = (
    "anthropic/claude-sonnet-4-5",
    "anthropic/claude-opus-4-1",
    "anthropic/claude-haiku-4-5",
    "openai/gpt-4o",
    "openai/gpt-4o-mini",
    "openai/gpt-4.1",
    "gemini/gemini-2.5-pro",
    "ollama/qwen2.5-coder",
)


@dataclass
class AppOptions:
    cwd: Path = field(default_factory=Path.cwd)
    model: str = ""
    permission_mode: str = "default"
    context_window: int = DEFAULT_CONTEXT_WINDOW
    models: tuple[str, ...] = DEFAULT_MODELS
    """Offered by /model (any litellm model string can be typed too)."""
    theme: str = ""
    """Theme to start with; empty means the remembered one, else kode-dark."""
    theme_dirs: list[Path] | None = None
    """Where theme files are read from; None means the shipped themes, then the user's."""
    prefs_path: Path | None = None
    """The TUI state file (remembered theme); None keeps nothing."""
    history_path: Path | None = None
    """Prompt history file; None keeps history in memory only."""
    branch: str | None = None
    detect_branch: bool = True
    """Read the git branch from `cwd` when `branch` is not given."""
    clock: Callable[[], float] = time.monotonic
    animations: bool = True
    window: int = 150
    """Transcript items kept mounted per pane (older ones come back on demand)."""
    actions: SessionActions | None = None
    list_paths: Callable[[], list[str]] | None = None
    """Workspace paths for @ completion; None lists `cwd`."""
    on_ready: Callable[[], object] | None = None
    """Called once after the first paint (the CLI starts its slow imports here)."""
    banner_note: str = ""
    """A line under the banner: where this session is served, or which server it is attached to."""

    @classmethod
    def standard(cls, cwd: Path, **kwargs: object) -> AppOptions:
        """Options with kode's usual files: history in the data dir, state and themes in the config dir."""
        from kode.config.paths import data_dir, themes_dir, user_config_dir
        from kode.tui.history import history_file
        from kode.tui.prefs import PREFS_FILE_NAME
        from kode.tui.themes import shipped_theme_dirs

        defaults: dict[str, object] = {
            "history_path": history_file(data_dir(), cwd),
            "prefs_path": user_config_dir() / PREFS_FILE_NAME,
            "theme_dirs": [*shipped_theme_dirs(), themes_dir()],
        }
        defaults.update(kwargs)
        return cls(cwd=cwd, **defaults)  # type: ignore[arg-type]
