"""Themes as files: TOML in `themes/` (shipped) and in the user's themes dir, loaded as Textual themes.

A theme file sets Textual's theme colours by name and may override any generated variable:

    name = "kode-dark"
    dark = true
    primary = "#5FA8F5"
    background = "#15171C"
    [variables]
    "text-muted" = "#8B93A1"

Shipped themes are found next to the `kode` package (a checkout or an editable install) or, in a
wheel, as the `kode/themes` package data directory. User themes in `themes_dir()` override shipped
ones of the same name.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from textual.theme import Theme

COLOR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
                "surface", "panel", "boost")
KNOWN_KEYS = {"name", "dark", "luminosity_spread", "text_alpha", "variables", "description", *COLOR_FIELDS}
DEFAULT_THEME = "kode-dark"


class ThemeFileError(ValueError):
    pass


def shipped_theme_dirs() -> list[Path]:
    """Where the themes that come with kode live, first match wins: `themes/` beside the package
    (a checkout or an editable install), or `<prefix>/share/kode/themes` (a wheel installs them
    there, see `[tool.setuptools.data-files]` in pyproject.toml)."""
    package = Path(__file__).resolve().parents[1]  # .../kode
    candidates = [package / "themes", package.parent / "themes", Path(sys.prefix) / "share" / "kode" / "themes"]
    return [path for path in candidates if path.is_dir()]


def load_theme_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: {exc}") from exc
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise ThemeFileError(f"{path.name}: unknown key(s) {sorted(unknown)}")
    if not isinstance(data.get("primary"), str):
        raise ThemeFileError(f"{path.name}: 'primary' (a colour) is required")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeFileError(f"{path.name}: [variables] must map names to colour strings")
    name = data.get("name") or path.stem
    try:
        theme = Theme(
            name=str(name),
            dark=bool(data.get("dark", True)),
            luminosity_spread=float(data.get("luminosity_spread", 0.15)),
            text_alpha=float(data.get("text_alpha", 0.95)),
            variables=dict(variables),
            **{key: data[key] for key in COLOR_FIELDS if key in data},
        )
        theme.to_color_system()  # parse every colour now, so a typo is reported at load time
    except Exception as exc:  # noqa: BLE001 - Textual raises several kinds for bad colours
        raise ThemeFileError(f"{path.name}: {exc}") from exc
    return theme


@dataclass
class ThemeSet:
    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)


def discover_themes(directories: list[Path]) -> ThemeSet:
    """Every loadable theme in `directories` (later directories override earlier ones)."""
    found = ThemeSet()
    for directory in directories:
        try:
            files = sorted(directory.glob("*.toml"))
        except OSError:
            continue
        for path in files:
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                found.errors.append(str(exc))
                continue
            found.themes[theme.name] = theme
            found.sources[theme.name] = path
    return found
