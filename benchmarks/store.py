"""The store's write and read speed: `python benchmarks/store.py [--events N] [--no-postgres]`.

For SQLite (a temp file, kode's PRAGMAs) and PostgreSQL (a throwaway local cluster with default
durability: fsync and synchronous_commit on), prints:
- appending N durable events one transaction each (the persist-as-it-happens path): events/s and
  the latency of one append (median, p99);
- appending them in batches (append_events with 100 events, and all N in one call);
- loading an N-event session back as typed events, and as the stored JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "store"))

from pg import PostgresCluster  # noqa: E402

from kode.protocol import events as ev  # noqa: E402
from kode.protocol.common import ToolCallInfo, Usage  # noqa: E402
from kode.protocol.events import Event  # noqa: E402
from kode.store import Store  # noqa: E402


def make_events(session_id: str, count: int) -> list[Event]:
    """A realistic mix: messages with usage, tool calls with a few hundred bytes of output."""
    usage = Usage(input_tokens=1200, output_tokens=80, cost_usd=0.0021)
    out: list[Event] = []
    for seq in range(1, count + 1):
        kind = seq % 4
        if kind == 0:
            event: Event = ev.UserMessage(message_id=f"u{seq}", text="please fix the failing test in store.py")
        elif kind == 1:
            call = ToolCallInfo(id=f"c{seq}", name="read", arguments='{"path": "kode/store/store.py"}')
            event = ev.MessageCompleted(message_id=f"m{seq}", text="Let me look.", tool_calls=[call], usage=usage)
        elif kind == 2:
            event = ev.ToolCallStarted(call_id=f"c{seq}", name="read")
        else:
            event = ev.ToolCallFinished(call_id=f"c{seq}", name="read", status="ok", output="line of code\n" * 40)
        out.append(event.model_copy(update={"session_id": session_id, "seq": seq}))
    return out


async def bench(store: Store, label: str, count: int) -> None:
    singles = make_events("ses_single", count)
    await store.create_session(id="ses_single", cwd="/bench", model="m")
    latencies: list[float] = []
    started = time.perf_counter()
    for event in singles:
        t = time.perf_counter()
        await store.append_events("ses_single", [event])
        latencies.append(time.perf_counter() - t)
    single_total = time.perf_counter() - started
    latencies.sort()
    median = statistics.median(latencies) * 1e6
    p99 = latencies[int(len(latencies) * 0.99)] * 1e6
    print(
        f"{label}: {count} events, one per transaction: {count / single_total:,.0f} events/s "
        f"(one append: median {median:,.0f} µs, p99 {p99:,.0f} µs)"
    )

    for size in (100, count):
        session_id = f"ses_batch_{size}"
        await store.create_session(id=session_id, cwd="/bench", model="m")
        batch = make_events(session_id, count)
        started = time.perf_counter()
        for i in range(0, count, size):
            await store.append_events(session_id, batch[i : i + size])
        elapsed = time.perf_counter() - started
        print(f"{label}: {count} events in batches of {size}: {count / elapsed:,.0f} events/s")

    for name, load in (("typed events", store.load_events), ("JSON lines", store.load_event_json)):
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            loaded = await load("ses_single")
            runs.append(time.perf_counter() - started)
        assert len(loaded) == count
        print(f"{label}: load a {count}-event session as {name}: {min(runs) * 1000:,.0f} ms (best of 3)")


async def run(count: int, postgres: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{tmp}/kode.db")
        try:
            await bench(store, "sqlite", count)
        finally:
            await store.close()
    if not postgres:
        return
    cluster = PostgresCluster.start(durable=True)
    try:
        store = await Store.open(await cluster.create_database("bench"))
        try:
            await bench(store, "postgresql", count)
        finally:
            await store.close()
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(run(args.events, postgres=not args.no_postgres))


if __name__ == "__main__":
    main()
