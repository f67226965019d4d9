"""Parsed repo-map tags in the store: read back by key, shared by every store on the database,
added only once per key, and bounded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kode.store import Store
from kode.store import repo_tags as repo_tags_module


async def test_tags_are_read_back_by_key_from_another_store(open_store: Callable[[], Awaitable[Store]]) -> None:
    writer, reader = await open_store(), await open_store()
    await writer.put_repo_tags({"v1:python:aa": '{"d": 1}', "v1:go:bb": '{"d": 2}'})
    assert await reader.get_repo_tags(["v1:python:aa", "v1:go:bb", "v1:rust:cc"]) == {
        "v1:python:aa": '{"d": 1}',
        "v1:go:bb": '{"d": 2}',
    }
    assert await reader.get_repo_tags([]) == {}


async def test_a_key_already_stored_is_kept_and_a_batch_still_lands(store: Store) -> None:
    await store.put_repo_tags({"k1": "first"})
    await store.put_repo_tags({"k1": "second", "k2": "new"})  # another process parsed it too
    assert await store.get_repo_tags(["k1", "k2"]) == {"k1": "first", "k2": "new"}


async def test_many_keys_are_read_in_chunks(store: Store) -> None:
    rows = {f"k{i}": str(i) for i in range(1_234)}
    await store.put_repo_tags(rows)
    assert await store.get_repo_tags(list(rows)) == rows


async def test_the_oldest_entries_go_past_the_limit(store: Store) -> None:
    for i in range(5):
        await repo_tags_module.put(store.engine, {f"k{i}": "x"}, max_rows=3)
    assert sorted(await store.get_repo_tags([f"k{i}" for i in range(5)])) == ["k2", "k3", "k4"]
