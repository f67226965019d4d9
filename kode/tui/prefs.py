"""The TUI's own small state file (the chosen theme), in kode's config dir."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

PREFS_FILE_NAME = "tui-state.json"


@dataclass
class TuiPrefs:
    theme: str = ""

    @classmethod
    def load(cls, path: Path | None) -> TuiPrefs:
        if path is None:
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        theme = data.get("theme") if isinstance(data, dict) else None
        return cls(theme=theme if isinstance(theme, str) else "")

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
