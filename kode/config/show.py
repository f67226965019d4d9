"""Views of the configuration: ``kode config show`` (text and JSON) and the generated reference.

Everything here is derived from the schema, so a new field shows up without touching this file.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from kode.config.schema import Settings, SettingSpec, iter_settings, sections

if TYPE_CHECKING:
    from kode.config.loader import LoadedConfig

__all__ = ["config_as_json", "format_config", "mask_secret", "schema_markdown", "toml_value"]

_COMMENT_COLUMN_MAX = 64


def mask_secret(value: str) -> str:
    """Enough of a secret to recognise it, never enough to use it.

    Long values keep their first three and last four characters (``sk-…1234``); short ones
    become ``(set)``; an empty value stays empty.
    """
    if not value:
        return ""
    if len(value) >= 16:
        return f"{value[:3]}…{value[-4:]}"
    return "(set)"


def _effective(loaded: LoadedConfig, spec: SettingSpec) -> Any:
    return getattr(getattr(loaded.settings, spec.section), spec.name)


def _shown_value(loaded: LoadedConfig, spec: SettingSpec, show_secrets: bool) -> Any:
    value = _effective(loaded, spec)
    if spec.secret and not show_secrets and isinstance(value, str):
        return mask_secret(value)
    return value


def toml_value(value: Any) -> str:
    """A value as TOML-ish text; None (no TOML equivalent) reads ``(unset)``."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


def format_config(loaded: LoadedConfig, *, show_secrets: bool = False) -> str:
    """Every effective setting as ``section.field = value`` with its source as a comment."""
    specs = list(iter_settings())
    width = max(len(spec.key) for spec in specs)
    rows: list[tuple[str, str, str]] = []  # (section, "key = value", source)
    for spec in specs:
        value = toml_value(_shown_value(loaded, spec, show_secrets))
        rows.append((spec.section, f"{spec.key:<{width}} = {value}", loaded.source(spec.key)))
    column = min(max(len(text) for _, text, _ in rows), _COMMENT_COLUMN_MAX)

    files = ", ".join(str(path) for path in loaded.files) or "none"
    out = [
        "# Effective kode configuration. Later layers win:",
        "#   default < user file < project file < environment (KODE_*) < flags",
        f"# Config files read: {files}",
    ]
    previous = None
    for section, text, source in rows:
        if section != previous:
            out.append("")
            previous = section
        out.append(f"{text:<{column}}  # {source}")
    return "\n".join(out) + "\n"


def config_as_json(loaded: LoadedConfig, *, show_secrets: bool = False) -> dict[str, Any]:
    """``{"section.field": {"value": …, "source": …}}`` for every setting; secrets masked."""
    return {
        spec.key: {
            "value": _shown_value(loaded, spec, show_secrets),
            "source": loaded.source(spec.key),
        }
        for spec in iter_settings()
    }


# --- reference documentation -----------------------------------------------------------------

_INTRO = """\
# Configuration

<!-- Generated from kode/config/schema.py by kode.config.show.schema_markdown(); do not edit. -->

kode reads its settings from these layers; a later layer wins over an earlier one:

1. built-in defaults (the tables below);
2. the user file, `config.toml` in `$KODE_CONFIG_DIR` if that is set, else in
   `$XDG_CONFIG_HOME/kode` if that is set, else in `~/.config/kode` (on macOS and Windows, in
   the platform's config folder);
3. the project file, `.kode/config.toml`, the nearest one found from the working directory
   upward (the search stops before your home folder);
4. environment variables: `KODE_<SECTION>__<FIELD>` for every setting (for example
   `KODE_LLM__IDLE_TIMEOUT=5`), plus the short names listed below (such as `KODE_MODEL`);
   when both forms are set, the long form wins; an empty variable counts as unset;
5. command-line flags, such as `--model`.

Permission rules (`permissions.allow`, `permissions.ask`, `permissions.deny`) are combined
rather than replaced: every layer adds its rules to those of the layers below, so
`--allow 'bash(make*)'` extends the rules in your config files. In environment variables, give
lists as a JSON array (`KODE_PERMISSIONS__ALLOW='["bash(ls*)", "edit(src/**)"]'`) or as
comma-separated items.

Unknown sections and keys are errors, reported with file and line, so typos never pass
silently. `kode config show` prints every effective setting and where it came from.
"""


def _type_text(spec: SettingSpec) -> str:
    annotation = spec.info.annotation
    optional = False
    args = get_args(annotation)
    if type(None) in args:
        optional = True
        annotation = next(arg for arg in args if arg is not type(None))
    if get_origin(annotation) is Literal:
        text = "one of " + ", ".join(f"`{choice}`" for choice in get_args(annotation))
    elif get_origin(annotation) is list:
        text = "list of strings"
    else:
        text = {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
            annotation, getattr(annotation, "__name__", str(annotation))
        )
    bounds = _bounds_text(spec)
    if bounds:
        text += f", {bounds}"
    if optional:
        text += ", optional"
    return text


def _bounds_text(spec: SettingSpec) -> str:
    words = []
    for item in spec.info.metadata:
        for attr, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            bound = getattr(item, attr, None)
            if bound is not None:
                words.append(f"{symbol} {bound}")
        if getattr(item, "min_length", None) == 1:
            words.append("not empty")
    return ", ".join(words)


def _default_text(spec: SettingSpec) -> str:
    default = spec.default
    return "unset" if default is None else f"`{toml_value(default)}`"


def _env_text(spec: SettingSpec) -> str:
    names = [spec.env_alias, spec.env_var] if spec.env_alias else [spec.env_var]
    return "<br>".join(f"`{name}`" for name in names)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _example_toml() -> str:
    lines = ["```toml"]
    previous = None
    for spec in iter_settings():
        if spec.section != previous:
            if previous is not None:
                lines.append("")
            lines.append(f"[{spec.section}]")
            previous = spec.section
        default = spec.default
        if default is None:
            lines.append(f"# {spec.name} = …  (unset by default)")
        else:
            lines.append(f"{spec.name} = {toml_value(default)}")
    lines.append("```")
    return "\n".join(lines)


def schema_markdown() -> str:
    """The reference of every setting, as Markdown, generated from the schema."""
    out = [_INTRO]
    settings_fields = _section_descriptions()
    for section in sections():
        out.append(f"## `[{section}]`\n")
        description = settings_fields.get(section)
        if description:
            out.append(f"{description}\n")
        out.append("| Key | Type | Default | Environment | Description |")
        out.append("| --- | --- | --- | --- | --- |")
        for spec in iter_settings():
            if spec.section != section:
                continue
            cells = (
                f"`{spec.key}`",
                _type_text(spec),
                _default_text(spec),
                _env_text(spec),
                spec.info.description or "",
            )
            out.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        out.append("")
    out.append("## Every setting with its default\n")
    out.append(_example_toml())
    return "\n".join(out) + "\n"


def _section_descriptions() -> dict[str, str]:
    return {name: info.description or "" for name, info in Settings.model_fields.items()}
