"""Definitions and references of one source file, found with tree-sitter.

tree-sitter (and its compiled grammars) is imported lazily, on the first parse, so kode's
startup does not pay for it. Parsers and compiled queries are cached per language: compiling a
query costs far more than running it.
"""

from __future__ import annotations

import posixpath
import threading
from dataclasses import dataclass, field
from functools import cache
from sys import intern
from typing import Any

from kode.repo.queries import CLASS_NODES, DEFINITIONS, EXTENSIONS, FUNCTION_NODES, GENERIC_KINDS, REFERENCES

MAX_SIGNATURE_CHARS = 160

_lock = threading.Lock()
"""tree-sitter parsers are not thread-safe; tools parse in worker threads."""


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    kind: str
    """class, function, method, struct, interface, enum, trait, type, module, macro, union."""
    line: int
    """1-based."""
    signature: str
    """The source line the name is on, right-stripped (indentation kept, so methods nest)."""
    scope: str = ""
    """Name of the enclosing class-like definition, if any."""

    @property
    def qualname(self) -> str:
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(slots=True)
class FileTags:
    language: str
    definitions: list[Definition] = field(default_factory=list)
    references: dict[str, int] = field(default_factory=dict)
    """Identifier -> how many times the file uses it (definition names excluded)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "l": self.language,
            "d": [[d.name, d.kind, d.line, d.signature, d.scope] for d in self.definitions],
            "r": self.references,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileTags:
        # Interned: the same identifiers recur in every file, so a big map keeps one copy of each.
        return cls(data["l"], [Definition(*d) for d in data["d"]], {intern(k): v for k, v in data["r"].items()})


def language_for(path: str) -> str | None:
    """The tree-sitter language of a file, by extension; None for files we do not parse."""
    return EXTENSIONS.get(posixpath.splitext(path)[1].lower())


@cache
def _tools(language: str) -> tuple[Any, Any, Any]:
    """(parser, definition query, reference query) for a language, built once."""
    from tree_sitter import Query
    from tree_sitter_language_pack import get_language, get_parser

    lang = get_language(language)  # type: ignore[arg-type]
    return get_parser(language), Query(lang, DEFINITIONS[language]), Query(lang, REFERENCES[language])  # type: ignore[arg-type]


def _parse(language: str, source: bytes) -> tuple[Any, Any, Any]:
    parser, defs, refs = _tools(language)
    with _lock:
        tree = parser.parse(source)
    return tree, defs, refs


def _captures(query: Any, node: Any) -> dict[str, list[Any]]:
    from tree_sitter import QueryCursor

    return QueryCursor(query).captures(node)


def _scope(node: Any, source: bytes) -> str | None:
    """Name of the class-like node enclosing a definition; None when a function encloses it first."""
    if node.parent is not None and node.parent.type == "qualified_identifier":  # C++ `void Foo::bar() {}`
        scope = node.parent.child_by_field_name("scope")
        if scope is not None:
            return _text(scope, source)
    receiver = node.parent.child_by_field_name("receiver") if node.parent is not None else None
    if receiver is not None:  # a Go method: its scope is the receiver's type
        names = _descendants(receiver, "type_identifier")
        return _text(names[0], source) if names else ""
    parent = node.parent
    while parent is not None and parent.type not in CLASS_NODES and parent.type not in FUNCTION_NODES:
        parent = parent.parent  # up to the definition's own node (C puts the name in a declarator)
    parent = parent.parent if parent is not None else node.parent
    while parent is not None and parent.parent is not None:  # the root (a Python `module`) is no class
        if parent.type in FUNCTION_NODES:
            return None
        if parent.type in CLASS_NODES:
            named = parent.child_by_field_name("name") or parent.child_by_field_name("type")
            return _text(named, source) if named is not None else ""
        parent = parent.parent
    return None


def _descendants(node: Any, node_type: str) -> list[Any]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == node_type:
            found.append(current)
        stack.extend(reversed(current.children))
    return found


def _text(node: Any, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


def extract_tags(path: str, source: bytes) -> FileTags | None:
    """Definitions and referenced identifiers of a file; None when its language is unsupported."""
    language = language_for(path)
    if language is None:
        return None
    tree, def_query, ref_query = _parse(language, source)
    lines = source.split(b"\n")
    found: dict[int, tuple[Any, str]] = {}
    for capture, nodes in _captures(def_query, tree.root_node).items():
        kind = capture.removeprefix("name.")
        for node in nodes:
            prior = found.get(node.start_byte)
            if prior is None or (prior[1] in GENERIC_KINDS and kind not in GENERIC_KINDS):
                found[node.start_byte] = (node, kind)
    definitions: list[Definition] = []
    for node, kind in found.values():
        scope = _scope(node, source)
        if kind == "function" and scope is not None:
            kind = "method"
        row = node.start_point[0]
        signature = lines[row].decode("utf-8", "replace").rstrip().expandtabs(4)[:MAX_SIGNATURE_CHARS]
        definitions.append(Definition(_text(node, source), kind, row + 1, signature, scope or ""))
    definitions.sort(key=lambda d: (d.line, d.name))
    references: dict[str, int] = {}
    for nodes in _captures(ref_query, tree.root_node).values():
        for node in nodes:
            if node.start_byte in found:
                continue
            name = intern(source[node.start_byte:node.end_byte].decode("utf-8", "replace"))
            references[name] = references.get(name, 0) + 1
    return FileTags(language, definitions, references)


def reference_lines(path: str, source: bytes, name: str) -> list[int]:
    """1-based lines where `name` is used as an identifier (not where it is defined), in order."""
    language = language_for(path)
    if language is None:
        return []
    tree, def_query, ref_query = _parse(language, source)
    defined = {n.start_byte for nodes in _captures(def_query, tree.root_node).values() for n in nodes}
    wanted = name.encode()
    rows = {
        node.start_point[0] + 1
        for nodes in _captures(ref_query, tree.root_node).values()
        for node in nodes
        if node.start_byte not in defined and source[node.start_byte:node.end_byte] == wanted
    }
    return sorted(rows)
