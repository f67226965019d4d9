"""Agent types: what the ``task`` tool can delegate a goal to.

Two are built in — ``explore`` (read-only search) and ``general`` (every tool) — and users add
their own as Markdown files with front matter::

    ---
    name: reviewer
    description: Reviews a diff for bugs and style
    tools: read_file, grep, glob        # or a list: [read_file, grep] / "- read_file" lines
    model: openai/gpt-4o-mini           # optional
    ---
    You are a careful code reviewer. …

Files are read from the user's folder (``~/.config/kode/agents/*.md``, see
:func:`kode.config.paths.agents_dir`) and then the project's (the nearest ``.kode/agents/`` from
the workspace upward, stopping before the home folder). By name, a project type overrides a user
type, which overrides a built-in one.

A bad file never stops kode: it is skipped and described, one line each, in
:attr:`AgentTypes.problems`.

The front matter is a small, strict subset of YAML, parsed here (no YAML library): ``key: value``
lines; values plain (to the end of the line, ``  # comment`` removed), quoted with ``"`` or
``'``, or a list, written ``[a, b]`` or as indented ``- item`` lines. ``tools`` also accepts a
comma-separated line (``a, b``). A plain value may continue on indented lines, and ``|`` / ``>``
block text works, so a long description can wrap. Unlike YAML, a plain value may contain ``: ``.

The config layer cannot see the tool registry, so an agent type does not know whether its tools
can change the workspace, nor whether the names it lists exist: callers decide that with
:meth:`AgentType.is_read_only` and :meth:`AgentType.unknown_tools`, passing what the registry says.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kode.config.paths import PROJECT_DIR_NAME, agents_dir, home_dir

__all__ = [
    "AGENTS_DIR_NAME",
    "BUILT_IN",
    "FRONT_MATTER_KEYS",
    "NAME_PATTERN",
    "AgentType",
    "AgentTypes",
    "FrontMatterError",
    "builtin_agent_types",
    "find_project_agents_dir",
    "load_agent_types",
    "parse_agent_file",
    "parse_front_matter",
]

AGENTS_DIR_NAME = "agents"
BUILT_IN = "built-in"
"""The ``source`` of the built-in types."""
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]*")
"""What an agent type's name must match (whole): lowercase, digits, ``-`` and ``_``."""
TOOL_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What providers accept as a function name."""
FRONT_MATTER_KEYS = ("name", "description", "tools", "model")
MAX_FILE_BYTES = 256 * 1024
INHERIT = "inherit"
"""``model: inherit`` means the same as leaving ``model`` out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentType:
    """One kind of sub-agent.

    ``tools`` is None for every tool the session has, else the tool names it may use (an empty
    tuple: none). ``model`` is None for the session's model. ``source`` is :data:`BUILT_IN` or
    the file the type was read from.
    """

    name: str
    description: str
    tools: tuple[str, ...] | None = None
    model: str | None = None
    system_prompt: str
    source: str = BUILT_IN

    @property
    def built_in(self) -> bool:
        return self.source == BUILT_IN

    def allows(self, tool_name: str) -> bool:
        """Whether a child of this type may use ``tool_name``."""
        return self.tools is None or tool_name in self.tools

    def is_read_only(self, read_only_tools: Collection[str]) -> bool:
        """True when every tool this type may use is in ``read_only_tools`` (the caller's list of
        tools that cannot change the workspace). A type with every tool is never read-only."""
        return self.tools is not None and all(name in read_only_tools for name in self.tools)

    def unknown_tools(self, known_tools: Collection[str]) -> list[str]:
        """The tools this type names that are not in ``known_tools``, in its order."""
        return [name for name in self.tools or () if name not in known_tools]


@dataclass(slots=True)
class AgentTypes:
    """The agent types available in a workspace, by name, and what was wrong with the files."""

    types: dict[str, AgentType] = field(default_factory=dict)
    """Built-ins first, then user and project types in the order they were read; a type that
    overrides another keeps the overridden one's place."""
    problems: list[str] = field(default_factory=list)
    """One line per skipped file or problem: ``path[:line]: what is wrong``."""

    def get(self, name: str) -> AgentType | None:
        return self.types.get(name)

    def __getitem__(self, name: str) -> AgentType:
        return self.types[name]

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __iter__(self) -> Iterator[AgentType]:
        return iter(self.types.values())

    def __len__(self) -> int:
        return len(self.types)

    def names(self) -> list[str]:
        return list(self.types)


EXPLORE_PROMPT = """\
You are an explore sub-agent: another agent has handed you one question about this codebase.
You can only look: find files with glob and list, search their contents with grep, and read
them with read_file. Never edit a file or try to change anything, even if the goal asks you to;
say what should change instead.

Work quickly: start broad (glob, grep), then read only the parts that matter, and run
independent searches together. Stop as soon as you can answer.

Your final message is all the other agent sees, so make it a concise report of your findings:
the answer first, then the evidence with file paths and line numbers (`path:line`), each with a
few words on what is there. Quote code only when the exact text matters. If you could not find
something, say so rather than guess."""

GENERAL_PROMPT = """\
You are a general sub-agent: another agent has handed you one self-contained goal. You have
every tool it has. Complete the goal, staying within it: make no unrelated changes, and check
your work (run the relevant tests or commands) when you can.

Your final message is all the other agent sees, so end with a short report: whether the goal
is done, every file you created, changed or deleted and why, the commands you ran that matter
with their outcome, and anything left undone or needing a decision."""


def builtin_agent_types() -> dict[str, AgentType]:
    """The types every session has: ``explore`` and ``general``."""
    return {
        "explore": AgentType(
            name="explore",
            description=(
                "Read-only search: finds where things are and how they work, and reports back "
                "with file paths and line numbers. It never edits. Use it for questions about "
                "the codebase."
            ),
            tools=("read_file", "grep", "glob", "list"),
            system_prompt=EXPLORE_PROMPT,
        ),
        "general": AgentType(
            name="general",
            description=(
                "Every tool: completes a self-contained piece of work (edits, commands, tests) "
                "and reports what it changed."
            ),
            system_prompt=GENERAL_PROMPT,
        ),
    }


# -- front matter -----------------------------------------------------------------------------


class FrontMatterError(ValueError):
    """Bad front matter, at ``line`` (1-based, in the file)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


Value = str | list[str] | None

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]+(.*)|[ \t]*)$")
_BLOCK_SCALAR = re.compile(r"[|>][+-]?")
_FENCE = "---"


def parse_front_matter(text: str) -> tuple[dict[str, Value], str]:
    """The front matter's keys and values, and the body after it.

    Raises :class:`FrontMatterError` when there is no front matter or it is not the supported
    subset of YAML (see the module's docstring).
    """
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != _FENCE:
        raise FrontMatterError(1, "no front matter: the file must start with a '---' line")
    for end in range(1, len(lines)):
        if lines[end].rstrip() in (_FENCE, "..."):
            break
    else:
        raise FrontMatterError(1, "the front matter is not closed by a '---' line")
    body = "\n".join(lines[end + 1 :])
    return _parse_mapping(lines[1:end], first_line=2), body


def _parse_mapping(lines: list[str], first_line: int) -> dict[str, Value]:
    result: dict[str, Value] = {}
    index = 0
    while index < len(lines):
        line, number = lines[index], first_line + index
        if _ignorable(line):
            index += 1
            continue
        if line[0] in " \t":
            raise FrontMatterError(number, f"unexpected indented line {line.strip()!r}")
        match = _KEY_LINE.match(line.rstrip())
        if match is None:
            raise FrontMatterError(number, f"expected 'key: value', got {line.strip()!r}")
        key, raw = match.group(1), (match.group(2) or "").strip()
        if raw.startswith("#"):
            raw = ""  # only a comment: the value, if any, is on the lines below
        if key in result:
            raise FrontMatterError(number, f"{key!r} is given twice")
        index += 1
        more: list[str] = []
        while index < len(lines) and _continues(lines[index], list_allowed=not raw):
            more.append(lines[index])
            index += 1
        result[key] = _value(raw, more, number)
    return result


def _ignorable(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _continues(line: str, *, list_allowed: bool) -> bool:
    """Whether ``line`` belongs to the value above it: indented, blank, or (YAML allows it) a
    ``- item`` at the start of the line under an empty value."""
    if not line.strip() or line[0] in " \t":
        return True
    return list_allowed and (line.rstrip() == "-" or line.startswith("- "))


def _value(raw: str, more: list[str], number: int) -> Value:
    if _BLOCK_SCALAR.fullmatch(raw):
        return _block_scalar(raw[0], more)
    content = [line.strip() for line in more if not _ignorable(line)]
    if not raw:
        if not content:
            return None
        if _is_item(content[0]):
            return _block_list(content, number)
        raw, content = content[0], content[1:]  # the value starts on the next line
    if raw.startswith("["):
        return _flow_list(" ".join([raw, *content]), number)
    if raw.startswith("{"):
        raise FrontMatterError(number, "mappings ({...}) are not supported here")
    if raw[0] in "\"'":
        return _quoted(" ".join([raw, *content]), number)
    plain = " ".join(part for part in map(_strip_comment, [raw, *content]) if part)
    return None if plain in ("", "~", "null") else plain


def _is_item(line: str) -> bool:
    return line == "-" or line.startswith("- ")


_COMMENT = re.compile(r"(?:^|[ \t])#.*$")


def _strip_comment(text: str) -> str:
    return _COMMENT.sub("", text).strip()


def _block_scalar(style: str, more: list[str]) -> str:
    while more and not more[-1].strip():
        more = more[:-1]
    indents = [len(line) - len(line.lstrip()) for line in more if line.strip()]
    cut = min(indents, default=0)
    lines = [line[cut:].rstrip() if line.strip() else "" for line in more]
    if style == "|":
        return "\n".join(lines).strip()
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n".join(paragraphs).strip()


def _block_list(content: list[str], number: int) -> list[str]:
    items: list[str] = []
    for offset, line in enumerate(content, start=1):
        if not _is_item(line):
            raise FrontMatterError(number, f"expected '- item' lines under the key, got {line!r}")
        item = line[1:].strip()
        if not item:
            raise FrontMatterError(number, f"list item {offset} is empty")
        if item[0] in "[{":
            raise FrontMatterError(number, f"list item {offset} is not a plain value")
        items.append(_quoted(item, number) if item[0] in "\"'" else _strip_comment(item))
    return items


def _flow_list(text: str, number: int) -> list[str]:
    close = text.rfind("]")
    if close == -1:
        raise FrontMatterError(number, "a '[' list is not closed with ']'")
    rest = text[close + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise FrontMatterError(number, f"unexpected text after the list: {rest!r}")
    inner = text[1:close].strip()
    if not inner:
        return []
    items: list[str] = []
    for part in _split_commas(inner, number):
        if not part:
            raise FrontMatterError(number, "the list has an empty item")
        if part[0] in "[{":
            raise FrontMatterError(number, "nested lists and mappings are not supported")
        items.append(_quoted(part, number) if part[0] in "\"'" else part)
    return items


def _split_commas(text: str, number: int) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if quote:
        raise FrontMatterError(number, f"an unclosed {quote} quote")
    parts.append("".join(current).strip())
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing comma, as YAML allows
    return parts


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "r": "\r", "0": "\0", " ": " "}


def _quoted(text: str, number: int) -> str:
    quote = text[0]
    out: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if quote == "'" and char == "'":
            if text[index + 1 : index + 2] == "'":
                out.append("'")
                index += 2
                continue
            break
        if quote == '"' and char == "\\":
            escaped = text[index + 1 : index + 2]
            if escaped not in _ESCAPES:
                raise FrontMatterError(number, f"unknown escape \\{escaped} in a quoted value")
            out.append(_ESCAPES[escaped])
            index += 2
            continue
        if quote == '"' and char == '"':
            break
        out.append(char)
        index += 1
    else:
        raise FrontMatterError(number, f"an unclosed {quote} quote")
    rest = text[index + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise FrontMatterError(number, f"unexpected text after the quoted value: {rest!r}")
    return "".join(out)


# -- agent files ------------------------------------------------------------------------------


def parse_agent_file(text: str, source: str) -> AgentType:
    """The agent type a definition file describes; ValueError (one line, without the path)
    saying what is wrong."""
    values, body = parse_front_matter(text)
    unknown = [key for key in values if key not in FRONT_MATTER_KEYS]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (the keys are: {', '.join(FRONT_MATTER_KEYS)})")
    name = _text(values, "name")
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"bad name {name!r}: use lowercase letters, digits, '-' and '_', starting with a letter"
        )
    description = _text(values, "description")
    system_prompt = body.strip()
    if not system_prompt:
        raise ValueError("no system prompt: write it after the front matter")
    return AgentType(
        name=name,
        description=description,
        tools=_tools(values),
        model=_model(values),
        system_prompt=system_prompt,
        source=source,
    )


def _text(values: Mapping[str, Value], key: str) -> str:
    value = values.get(key)
    if value is None or value == "":
        raise ValueError(f"missing {key}")
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text, not a list")
    return value


def _tools(values: Mapping[str, Value]) -> tuple[str, ...] | None:
    if "tools" not in values:
        return None
    value = values["tools"]
    if value is None:
        raise ValueError("tools is empty: leave the key out for every tool, or write [] for none")
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if isinstance(value, str) and "" in names:
        raise ValueError(f"tools has an empty name in {value!r}")
    for name in names:
        if not TOOL_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"bad tool name {name!r} (separate names with commas)")
    return tuple(dict.fromkeys(names))


def _model(values: Mapping[str, Value]) -> str | None:
    value = values.get("model")
    if value is None or value == INHERIT:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("model must be a model name, such as openai/gpt-4o-mini")
    return value.strip()


def find_project_agents_dir(workspace: Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """The nearest ``.kode/agents`` folder from ``workspace`` upward, or None.

    Like :func:`kode.config.paths.find_project_config`, the search stops before the home folder
    (``~/.kode`` is not a project) and at the filesystem root.
    """
    home = home_dir(environ)
    try:
        home = home.resolve()
    except OSError:
        pass
    start = workspace.resolve()
    for directory in (start, *start.parents):
        if directory == home:
            return None
        candidate = directory / PROJECT_DIR_NAME / AGENTS_DIR_NAME
        if candidate.is_dir():
            return candidate
    return None


def _read_dir(directory: Path, problems: list[str]) -> list[AgentType]:
    """The valid agent files in ``directory``, by file name; what is wrong with the others."""
    try:
        paths = sorted(p for p in directory.iterdir() if p.suffix == ".md" and not p.name.startswith("."))
    except OSError as exc:
        if directory.exists():
            problems.append(f"{directory}: cannot list it: {exc.strerror or exc}")
        return []
    found: dict[str, AgentType] = {}
    for path in paths:
        agent = _read_file(path, problems)
        if agent is None:
            continue
        if agent.name in found:
            problems.append(f"{path}: the name {agent.name!r} is taken by {found[agent.name].source}; skipped")
            continue
        found[agent.name] = agent
    return list(found.values())


def _read_file(path: Path, problems: list[str]) -> AgentType | None:
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; skipped")
            return None
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text; skipped")
        return None
    except OSError as exc:
        problems.append(f"{path}: cannot read it: {exc.strerror or exc}")
        return None
    try:
        return parse_agent_file(text, str(path))
    except FrontMatterError as exc:
        problems.append(f"{path}:{exc.line}: bad front matter: {exc.reason}")
    except ValueError as exc:
        problems.append(f"{path}: {exc}")
    return None


def load_agent_types(workspace: Path, environ: Mapping[str, str] | None = None) -> AgentTypes:
    """Built-in, user and project agent types, later overriding earlier by name.

    Never raises for a bad file or folder: each problem is a line in ``problems``.
    """
    env = os.environ if environ is None else environ
    result = AgentTypes(types=builtin_agent_types())
    directories = [agents_dir(env)]
    project = find_project_agents_dir(workspace, env)
    if project is not None:
        directories.append(project)
    seen: set[Path] = set()
    for directory in directories:
        try:
            key = directory.resolve()
        except OSError:
            key = directory
        if key in seen:  # the user folder inside the project (KODE_CONFIG_DIR=.kode)
            continue
        seen.add(key)
        for agent in _read_dir(directory, result.problems):
            result.types[agent.name] = agent
    return result
