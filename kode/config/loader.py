"""Layered loading of kode's settings, with every problem reported by file and line.

Layers, later wins: built-in defaults → user file (``~/.config/kode/config.toml``) → project
file (the nearest ``.kode/config.toml`` from the working directory upward) → environment
(``KODE_*``) → flags (``overrides``).

Lists marked ``merge="append"`` in the schema (the permission rules) are the exception: every
layer adds its entries to those of the layers below, in layer order and without duplicates, so
``--allow`` on the command line extends the rules in the config files rather than replacing them.

Each layer is validated on its own, so a bad value is reported with the place it came from even
when a later layer overrides it. All problems found are raised together as one ``ConfigError``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from kode.config._toml_lines import key_lines, line_of
from kode.config.paths import find_project_config, user_config_file
from kode.config.schema import Settings, SettingSpec, sections, setting_specs

__all__ = ["ConfigError", "LoadedConfig", "load_config", "parse_env_list"]

DEFAULT_SOURCE = "default"


class ConfigError(Exception):
    """A problem with the configuration, located as precisely as possible.

    ``str(error)`` reads ``<where>: <key>: <reason>``, where ``<where>`` is ``path:line`` (or
    ``path:line:column`` for TOML syntax errors) for files, the variable name for the
    environment and the flag for overrides. When several problems were found, ``errors`` holds
    them all, the attributes describe the first, and ``str(error)`` has one line per problem.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
        origin: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self.origin = origin
        self.errors: list[ConfigError] = [self]
        super().__init__(self._render())

    @property
    def message(self) -> str:
        return str(self)

    @property
    def where(self) -> str | None:
        """``path:line[:column]``, the variable or the flag; None when unknown."""
        if self.path is None:
            return self.origin
        parts = [str(self.path)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def _render(self) -> str:
        return ": ".join(p for p in (self.where, self.key, self.reason) if p)

    @classmethod
    def combine(cls, errors: list[ConfigError]) -> ConfigError:
        """One error standing for several; ``errors`` keeps them all."""
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        combined = cls(
            first.reason,
            path=first.path,
            line=first.line,
            column=first.column,
            key=first.key,
            origin=first.origin,
        )
        combined.errors = list(errors)
        combined.args = ("\n".join(e._render() for e in errors),)
        return combined


@dataclass
class LoadedConfig:
    """The effective settings and where each value came from."""

    settings: Settings
    sources: dict[str, str]
    """Dotted key -> ``"default"``, ``"user: /path/config.toml:LINE"``,
    ``"project: /path/.kode/config.toml:LINE"``, ``"env: KODE_MODEL"`` or ``"flag: --model"``.
    Lists that accumulate across layers join their sources with ``" + "``."""
    files: list[Path] = field(default_factory=list)
    """The config files that were read, user file first."""
    project_file: Path | None = None
    """The project config file found from the working directory, if any."""

    def source(self, key: str) -> str:
        return self.sources.get(key, DEFAULT_SOURCE)


def load_config(
    cwd: Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    override_labels: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Read every layer and return the validated settings; raise ``ConfigError`` on problems.

    ``overrides`` are flag values keyed by dotted name (``{"models.main": "openai/gpt-4o"}``);
    a None value means the flag was not given. ``override_labels`` names the flag behind each
    key (``{"models.main": "--model"}``) for sources and error messages.
    """
    env = os.environ if environ is None else environ
    layers = _Layers()
    user_file = user_config_file(env)
    project_file = find_project_config(cwd, env)
    if project_file is not None and _same_file(project_file, user_file):
        project_file = None
    for kind, path in (("user", user_file), ("project", project_file)):
        if path is not None and layers.read_file(kind, path):
            layers.files.append(path)
    layers.read_env(env)
    layers.read_overrides(overrides or {}, override_labels or {})
    settings = layers.finish()
    return LoadedConfig(settings, dict(layers.sources), layers.files, project_file)


def parse_env_list(text: str) -> list[Any]:
    """A list from an environment variable: a JSON array, or comma-separated items.

    Raises ValueError for text that starts like JSON (``[``) but is not a JSON array.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        import json

        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not a valid JSON list ({exc.msg})") from None
        if not isinstance(value, list):
            raise ValueError("is not a JSON list")
        return value
    return [item.strip() for item in stripped.split(",") if item.strip()]


# --- layering --------------------------------------------------------------------------------


@dataclass
class _Origin:
    """Where a value came from: for ``sources`` and for locating errors."""

    source: str
    path: Path | None = None
    line: int | None = None
    label: str | None = None

    def error(self, key: str | None, reason: str) -> ConfigError:
        return ConfigError(reason, path=self.path, line=self.line, key=key, origin=self.label)


class _Layers:
    def __init__(self) -> None:
        self.specs = setting_specs()
        self.values: dict[str, Any] = {}
        self.sources: dict[str, str] = {key: DEFAULT_SOURCE for key in self.specs}
        self.origins: dict[str, _Origin] = {}
        self.errors: list[ConfigError] = []
        self.files: list[Path] = []

    # files

    def read_file(self, kind: str, path: Path) -> bool:
        """Apply one config file; False when it does not exist."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return False
        except IsADirectoryError:
            self.errors.append(ConfigError("is a directory, not a config file", path=path))
            return True
        except OSError as exc:
            reason = f"cannot read config file: {exc.strerror or exc}"
            self.errors.append(ConfigError(reason, path=path))
            return True
        text = self._decode(path, raw)
        if text is None:
            return True
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.errors.append(_toml_syntax_error(path, text, exc))
            return True
        lines = key_lines(text)
        for section, body in data.items():
            self._read_section(kind, path, lines, section, body)
        return True

    def _decode(self, path: Path, raw: bytes) -> str | None:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            reason = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
            self.errors.append(ConfigError(reason, path=path, line=line))
            return None

    def _read_section(
        self, kind: str, path: Path, lines: dict[tuple[str, ...], int], section: str, body: Any
    ) -> None:
        def origin(*parts: str) -> _Origin:
            line = line_of(lines, parts)
            suffix = f":{line}" if line is not None else ""
            return _Origin(f"{kind}: {path}{suffix}", path=path, line=line)

        models = sections()
        if section not in models:
            if isinstance(body, dict):
                reason = "unknown section" + _did_you_mean(_suggest_section(section))
            else:
                reason = "unknown key" + _did_you_mean(_suggest_key(None, section))
            self.errors.append(origin(section).error(section, reason))
            return
        if not isinstance(body, dict):
            reason = f"must be a table, written [{section}] (got {_describe_input(body)})"
            self.errors.append(origin(section).error(section, reason))
            return
        for name, value in body.items():
            key = f"{section}.{name}"
            spec = self.specs.get(key)
            if spec is None:
                reason = "unknown key" + _did_you_mean(_suggest_key(section, name))
                self.errors.append(origin(section, name).error(key, reason))
                continue
            self._set(spec, value, origin(section, name), strict=True)

    # environment

    def read_env(self, environ: Mapping[str, str]) -> None:
        aliases = {spec.env_alias: spec for spec in self.specs.values() if spec.env_alias}
        generic = {spec.env_var: spec for spec in self.specs.values()}
        names = sorted(name for name in environ if name.startswith("KODE_"))
        # Short aliases first, so the explicit KODE_<SECTION>__<FIELD> form wins over them.
        for name in names:
            spec = aliases.get(name)
            if spec is not None:
                self._set_env(spec, name, environ[name])
        for name in names:
            if "__" not in name:
                continue  # other KODE_* variables (KODE_CONFIG_DIR, …) are not settings
            spec = generic.get(name)
            if spec is None:
                # Compare without the shared KODE_ prefix, which would make anything look close.
                match = _close_match(name[5:], [n[5:] for n in (*generic, *aliases)])
                suggestion = f"KODE_{match}" if match else None
                reason = "unknown setting" + _did_you_mean(suggestion)
                self.errors.append(ConfigError(reason, origin=name))
                continue
            self._set_env(spec, name, environ[name])

    def _set_env(self, spec: SettingSpec, name: str, text: str) -> None:
        if text == "":
            return  # an empty variable counts as unset
        origin = _Origin(f"env: {name}", label=name)
        value: Any = text
        if _is_list(spec):
            try:
                value = parse_env_list(text)
            except ValueError as exc:
                reason = f"{exc} (JSON array or comma-separated)"
                self.errors.append(origin.error(spec.key, reason))
                return
        self._set(spec, value, origin, strict=False)

    # flags

    def read_overrides(self, overrides: Mapping[str, Any], labels: Mapping[str, str]) -> None:
        for key, value in overrides.items():
            if value is None:
                continue  # the flag was not given
            label = labels.get(key)
            origin = _Origin(f"flag: {label or key}", label=label or "flag")
            spec = self.specs.get(key)
            if spec is None:
                section, _, name = key.rpartition(".")
                suggestion = _suggest_key(section if section in sections() else None, name)
                reason = "unknown setting" + _did_you_mean(suggestion)
                self.errors.append(origin.error(key, reason))
                continue
            if _is_list(spec) and isinstance(value, (str, tuple)):
                value = [value] if isinstance(value, str) else list(value)
            self._set(spec, value, origin, strict=False)

    # validation and merging

    def _set(self, spec: SettingSpec, raw: Any, origin: _Origin, *, strict: bool) -> None:
        try:
            value = _adapter(spec.key).validate_python(raw, strict=strict)
        except ValidationError as exc:
            for err in exc.errors():
                key = spec.key + "".join(
                    f"[{part}]" if isinstance(part, int) else f".{part}"
                    for part in err["loc"]
                    if part != "[key]"  # pydantic's marker for a bad key of a table
                )
                self.errors.append(origin.error(key, _describe_error(err, spec)))
            return
        key = spec.key
        if spec.appends:
            merged = list(self.values.get(key, spec.default))
            merged.extend(item for item in dict.fromkeys(value) if item not in merged)
            self.values[key] = merged
            if value:
                previous = self.sources[key]
                joined = f"{previous} + {origin.source}"
                self.sources[key] = origin.source if previous == DEFAULT_SOURCE else joined
                self.origins[key] = origin
            return
        self.values[key] = value
        self.sources[key] = origin.source
        self.origins[key] = origin

    def finish(self) -> Settings:
        if self.errors:
            raise ConfigError.combine(self.errors)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in self.values.items():
            section, name = key.split(".", 1)
            nested.setdefault(section, {})[name] = value
        try:
            return Settings.model_validate(nested)
        except ValidationError as exc:  # cross-field rules, if the schema grows any
            errors = []
            for err in exc.errors():
                key = ".".join(str(part) for part in err["loc"]) or None
                origin = self.origins.get(key or "")
                reason = err["msg"].removeprefix("Value error, ")
                located = origin.error(key, reason) if origin else ConfigError(reason, key=key)
                errors.append(located)
            raise ConfigError.combine(errors) from None


@cache
def _adapter(key: str) -> TypeAdapter[Any]:
    info = setting_specs()[key].info
    return TypeAdapter(Annotated[info.annotation, info])


def _is_list(spec: SettingSpec) -> bool:
    return get_origin(spec.info.annotation) is list


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


# --- messages --------------------------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "list_type": "must be a list",
    "string_too_short": "must not be empty",
}
_BOUND_WORDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
}


def _describe_error(err: Any, spec: SettingSpec) -> str:
    """A pydantic error as a short clause: ``must be one of a, b (got 'x')``."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        annotation = spec.info.annotation
        if get_origin(annotation) is Literal:
            choices = ", ".join(str(choice) for choice in get_args(annotation))
        else:  # a Literal inside, e.g. the keys of a table
            choices = str(ctx.get("expected", ""))
        reason = f"must be one of {choices}"
    elif kind in _TYPE_WORDS:
        reason = _TYPE_WORDS[kind]
    elif kind in _BOUND_WORDS:
        name, template = _BOUND_WORDS[kind]
        reason = template.format(ctx.get(name))
    elif kind == "value_error":
        reason = str(ctx.get("error", err["msg"]))
    else:
        reason = err["msg"].replace("Input should be", "must be", 1)
    if spec.secret:
        return reason
    return f"{reason} (got {_describe_input(err.get('input'))})"


def _describe_input(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:56] + "…" + text[-1]
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _did_you_mean(suggestion: str | None) -> str:
    return f" (did you mean {suggestion}?)" if suggestion else ""


def _close_match(word: str, candidates: list[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _suggest_section(name: str) -> str | None:
    match = _close_match(name, list(sections()))
    return f"[{match}]" if match else None


def _suggest_key(section: str | None, name: str) -> str | None:
    """The setting most likely meant by ``name`` (within ``section`` first)."""
    specs = setting_specs().values()
    if section is not None:
        match = _close_match(name, [s.name for s in specs if s.section == section])
        if match:
            return f"{section}.{match}"
    # Short names of the environment aliases come first: `model` means models.main, not
    # permissions.mode.
    by_name = {
        spec.env_alias.removeprefix("KODE_").lower(): spec.key for spec in specs if spec.env_alias
    }
    for spec in specs:
        by_name.setdefault(spec.name, spec.key)
    match = _close_match(name, list(by_name))
    if match:
        return by_name[match]
    if section is None:
        return _suggest_section(name)
    return None


_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S)
_TOML_END = re.compile(r"^(?P<msg>.*) \(at end of document\)$", re.S)


def _toml_syntax_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(exc)
    line: int | None = None
    column: int | None = None
    if match := _TOML_POSITION.match(message):
        message, line, column = match["msg"], int(match["line"]), int(match["col"])
    elif match := _TOML_END.match(message):
        message = match["msg"] + " at end of file"
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
    return ConfigError(f"TOML syntax error: {message}", path=path, line=line, column=column)
