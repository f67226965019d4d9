"""Which files matter for a request: a reference graph ranked by personalised PageRank.

File A using a name that file B defines is an edge A -> B, so PageRank flows toward the files
much of the code depends on. Personalising the random jumps toward the files named in the
conversation and the files whose path or definitions match the request's words makes the ranking
answer "what should the model see for *this* request". A small pure-Python power iteration is
enough for a few thousand files and adds no dependency.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kode.repo.tags import FileTags

DAMPING = 0.85
MAX_ITERATIONS = 50
TOLERANCE = 1e-6
MAX_DEFINERS = 12
"""A name defined in more files than this (`__init__`, `run`, `main`) says nothing about which
file a use refers to; it is left out of the graph (which also keeps the graph small)."""
MENTIONED_WEIGHT = 10.0
PATH_WEIGHT = 5.0
DEFINITION_WEIGHT = 1.0
QUERY_NAME_BOOST = 10.0

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[./][A-Za-z_][A-Za-z0-9_]*)+")
_BORING_STEMS = frozenset({"__init__", "index", "mod", "main", "lib", "__main__"})


@dataclass(slots=True)
class Ranking:
    files: list[tuple[str, float]]
    """(path, score), best first."""
    referenced_by: dict[str, int] = field(default_factory=dict)
    """Name -> how many files use it: how important a definition of that name is."""
    query_words: frozenset[str] = frozenset()


def query_words(query: str) -> frozenset[str]:
    return frozenset(_WORD.findall(query))


def _path_parts(path: str) -> list[str]:
    stem = posixpath.splitext(path)[0]
    return [p.lower() for p in stem.split("/") if p and p not in _BORING_STEMS]


def _personalisation(
    tags: Mapping[str, FileTags], defines: Mapping[str, set[str]], mentioned: Iterable[str], query: str
) -> dict[str, float]:
    weights: dict[str, float] = {}

    def add(path: str, weight: float) -> None:
        weights[path] = weights.get(path, 0.0) + weight

    for path in mentioned:
        norm = posixpath.normpath(path.replace("\\", "/")).removeprefix("./")
        if norm in tags:
            add(norm, MENTIONED_WEIGHT)
    words = query_words(query)
    lowered = {w.lower() for w in words}
    dotted = {d.replace(".", "/").lower() for d in _DOTTED.findall(query)}
    if lowered:
        for path in tags:
            parts = _path_parts(path)
            if not parts:
                continue
            matched = sum(1 for p in parts if p in lowered)
            if matched:
                add(path, PATH_WEIGHT * matched / len(parts))
            stem = "/".join(parts)
            if any(stem == d or stem.endswith("/" + d) for d in dotted):
                add(path, PATH_WEIGHT * 2)
    for word in words:
        definers = defines.get(word, ())
        if 0 < len(definers) <= MAX_DEFINERS:
            for path in definers:
                add(path, DEFINITION_WEIGHT)
    return weights


def _name_weight(name: str, words: frozenset[str]) -> float:
    weight = QUERY_NAME_BOOST if name in words else 1.0
    if name.startswith("_"):
        weight *= 0.1
    if len(name) < 3:
        weight *= 0.3
    return weight


def rank_files(tags: Mapping[str, FileTags], mentioned: Iterable[str] = (), query: str = "") -> Ranking:
    """Rank every file in `tags` for a request (the files it mentions and its text)."""
    defines: dict[str, set[str]] = {}
    for path, file_tags in tags.items():
        for definition in file_tags.definitions:
            defines.setdefault(definition.name, set()).add(path)
    words = query_words(query)
    referenced_by: dict[str, int] = {}
    nodes = list(tags)
    index = {path: i for i, path in enumerate(nodes)}
    edges: list[dict[int, float]] = [{} for _ in nodes]
    for path, file_tags in tags.items():
        source = index[path]
        out = edges[source]
        for name, count in file_tags.references.items():
            definers = defines.get(name)
            if not definers:
                continue
            referenced_by[name] = referenced_by.get(name, 0) + 1
            if len(definers) > MAX_DEFINERS:
                continue
            weight = _name_weight(name, words) * math.sqrt(count) / len(definers)
            for target in definers:
                if target != path:
                    t = index[target]
                    out[t] = out.get(t, 0.0) + weight
    jumps = _personalisation(tags, defines, mentioned, query)
    scores = _pagerank(len(nodes), edges, [jumps.get(path, 0.0) for path in nodes])
    ranked = sorted(zip(nodes, scores, strict=True), key=lambda item: (-item[1], item[0]))
    return Ranking(ranked, referenced_by, words)


def _pagerank(n: int, edges: list[dict[int, float]], jump: list[float]) -> list[float]:
    """Power iteration; dangling files' rank is redistributed along the personalisation."""
    if n == 0:
        return []
    total = sum(jump)
    p = [w / total for w in jump] if total > 0 else [1.0 / n] * n
    links: list[list[tuple[int, float]]] = []
    for out in edges:
        out_total = sum(out.values())
        links.append([(j, w / out_total) for j, w in out.items()] if out_total > 0 else [])
    rank = list(p)
    for _ in range(MAX_ITERATIONS):
        new = [0.0] * n
        dangling = 0.0
        for i, out in enumerate(links):
            r = rank[i]
            if not out:
                dangling += r
                continue
            r *= DAMPING
            for j, w in out:
                new[j] += r * w
        spread = DAMPING * dangling + (1.0 - DAMPING)
        for j in range(n):
            new[j] += spread * p[j]
        delta = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if delta < TOLERANCE:
            break
    return rank
