"""The repo map: the workspace's most relevant files and their definitions, within a token budget.

Files come from the Environment (`walk_files` honours .gitignore and works on remote workspaces),
are parsed once per content (see cache.py), ranked for the request (see rank.py) and rendered
best first: the path, then the signature lines of its most important definitions. How many files
are shown is found by binary search on the rendered size, so the map never exceeds its budget.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pathspec import GitIgnoreSpec

from kode.repo.cache import TagCache, TagStore, content_key
from kode.repo.rank import Ranking, rank_files
from kode.repo.tags import Definition, FileTags, extract_tags, language_for
from kode.runtime.environment import Environment, EnvironmentError_

log = logging.getLogger("kode.repo")

CHARS_PER_TOKEN = 4
MAX_FILE_BYTES = 512 * 1024
"""Bigger files are generated, vendored or minified more often than not; they are skipped."""
MAX_FILES = 20_000
MAX_DEFS_PER_FILE = 12
READ_CONCURRENCY = 16
BATCH_FILES = 256


@dataclass(slots=True)
class BuildStats:
    files: int = 0
    parsed: int = 0
    cache_hits: int = 0
    skipped: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class RepoMap:
    # Only stats in the repr: asyncio reprs a finished task's result, and a stdlib-sized map's full
    # repr is a ~75 MB string that doubled the peak memory of `asyncio.run(build_repo_map(...))`.
    text: str = field(repr=False)
    ranking: Ranking = field(repr=False)
    tags: dict[str, FileTags] = field(repr=False)
    shown: list[str] = field(default_factory=list)
    """The files the text shows, best first."""
    stats: BuildStats = field(default_factory=BuildStats)


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


async def source_files(env: Environment, exclude: Sequence[str] = ()) -> list[str]:
    """Workspace-relative paths of the files we can parse, minus gitignore-style `exclude` patterns."""
    spec = GitIgnoreSpec.from_lines(exclude) if exclude else None
    files = [
        path for path in await env.walk_files()
        if language_for(path) is not None and not (spec is not None and spec.match_file(path))
    ]
    return files[:MAX_FILES]


async def _read_all(env: Environment, paths: Sequence[str]) -> dict[str, bytes]:
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def one(path: str) -> tuple[str, bytes | None]:
        async with gate:
            try:
                return path, await env.read_bytes(await env.resolve(path), limit=MAX_FILE_BYTES + 1)
            except EnvironmentError_:
                return path, None

    return {path: data for path, data in await asyncio.gather(*(one(p) for p in paths)) if data is not None}


def source_keys(sources: dict[str, bytes], stats: BuildStats) -> dict[str, str]:
    """The cache key of each parseable source; the others are counted as skipped."""
    keys: dict[str, str] = {}
    for path, data in sources.items():
        language = language_for(path)
        if language is None or len(data) > MAX_FILE_BYTES or b"\x00" in data[:8192]:
            stats.skipped += 1
            continue
        keys[path] = content_key(language, data)
    return keys


def tags_for_sources(
    sources: dict[str, bytes], keys: dict[str, str], cache: TagCache, stats: BuildStats
) -> dict[str, FileTags]:
    """Tags of each keyed source, from the cache when its content was seen before, else parsed."""
    cached = cache.get_many(set(keys.values()))
    result: dict[str, FileTags] = {}
    for path, key in keys.items():
        tags = cached.get(key)
        if tags is None:
            try:
                tags = extract_tags(path, sources[path])
            except (ValueError, RuntimeError):  # a grammar that cannot load; the file is skipped
                tags = None
            if tags is None:
                stats.skipped += 1
                continue
            cached[key] = tags
            cache.put(key, tags)
            stats.parsed += 1
        else:
            stats.cache_hits += 1
        result[path] = tags
    return result


async def collect_tags(
    env: Environment, *, store: TagStore | None = None, exclude: Sequence[str] = (),
    stats: BuildStats | None = None,
) -> dict[str, FileTags]:
    """Tags of every parseable file of the workspace. Files are read and parsed in batches, so
    only one batch of sources is held in memory at a time. `store` keeps parsed tags across
    processes; when it fails, the build goes on with this process's memory alone."""
    stats = stats if stats is not None else BuildStats()
    paths = await source_files(env, exclude)
    cache = TagCache()
    result: dict[str, FileTags] = {}
    loop = asyncio.get_running_loop()
    # One worker thread for hashing, decoding and parsing: it keeps the event loop free, and the
    # parser (which holds a lock anyway) gains nothing from the default pool's other threads.
    worker = ThreadPoolExecutor(1, thread_name_prefix="kode-repomap")
    try:
        for start in range(0, len(paths), BATCH_FILES):
            sources = await _read_all(env, paths[start:start + BATCH_FILES])
            keys = await loop.run_in_executor(worker, source_keys, sources, stats)
            missing = cache.missing(keys.values())
            if store is not None and missing:
                try:
                    rows = await store.get_repo_tags(missing)
                except Exception as exc:  # noqa: BLE001 - the cache only saves time
                    log.warning("repo map: cannot read the tag cache, parsing instead: %s", exc)
                    store = None
                else:
                    await loop.run_in_executor(worker, cache.load, rows)
            result.update(await loop.run_in_executor(worker, tags_for_sources, sources, keys, cache, stats))
            new = await loop.run_in_executor(worker, cache.take_new)
            if store is not None and new:
                try:
                    await store.put_repo_tags(new)
                except Exception as exc:  # noqa: BLE001
                    log.warning("repo map: cannot write the tag cache: %s", exc)
                    store = None
    finally:
        worker.shutdown(wait=False)
    stats.files = len(result)
    return result


def _important(definitions: list[Definition], ranking: Ranking) -> list[Definition]:
    """The file's top definitions (named in the request, then top-level ones, then the most used),
    shown in file order."""
    if len(definitions) <= MAX_DEFS_PER_FILE:
        return definitions

    def score(d: Definition) -> tuple[bool, bool, int, int]:
        return (d.name in ranking.query_words, not d.scope, ranking.referenced_by.get(d.name, 0), -d.line)

    top = sorted(definitions, key=score, reverse=True)[:MAX_DEFS_PER_FILE]
    return sorted(top, key=lambda d: d.line)


def file_block(path: str, tags: FileTags, ranking: Ranking) -> str:
    lines = [f"{path}:"]
    lines += [f"{d.line:>5}│{d.signature}" for d in _important(tags.definitions, ranking)]
    return "\n".join(lines) + "\n"


def render_map(tags: dict[str, FileTags], ranking: Ranking, tokens: int) -> tuple[str, list[str]]:
    """The map text within `tokens` and the files it shows: as many top files as fit."""
    paths = [path for path, _ in ranking.files if tags[path].definitions]
    blocks: list[str] = []
    sizes: list[int] = []
    budget = tokens * CHARS_PER_TOKEN
    total = 0
    for path in paths:  # blocks only grow the text, so stop building once past the budget
        block = file_block(path, tags[path], ranking)
        total += len(block) + 1
        blocks.append(block)
        sizes.append(total)
        if total > budget:
            break
    count = bisect.bisect_right(sizes, budget)  # binary search: the most files whose text fits
    return "\n".join(blocks[:count]), paths[:count]


async def build_repo_map(
    env: Environment, *, tokens: int = 1024, files: Iterable[str] = (), query: str = "",
    store: TagStore | None = None, exclude: Sequence[str] = (),
) -> RepoMap:
    """The repo map of the workspace for a request: `files` mentioned in the conversation and
    the request's text `query` steer the ranking."""
    started = time.perf_counter()
    stats = BuildStats()
    tags = await collect_tags(env, store=store, exclude=exclude, stats=stats)
    root = env.root.rstrip("/") + "/"
    mentioned = [f.removeprefix(root) if f.startswith(root) else f for f in files]
    ranking = await asyncio.to_thread(rank_files, tags, mentioned, query)
    text, shown = render_map(tags, ranking, tokens)
    stats.seconds = time.perf_counter() - started
    return RepoMap(text, ranking, tags, shown, stats)
