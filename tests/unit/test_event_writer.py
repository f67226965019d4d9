"""EventWriter: ordered, batched writes that gate visibility, and a failure that never stalls."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kode.core.event_log import EventLog
from kode.core.persistence import EventWriter
from kode.protocol import events as ev


class SlowSink:
    def __init__(self, fail_after: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_after = fail_after

    async def append_events(self, session_id: str, events: Sequence[ev.EventBase]) -> None:
        await asyncio.sleep(0.01)
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise OSError("disk full")
        self.batches.append([e.seq for e in events])


async def test_events_are_written_in_order_and_batched() -> None:
    log, sink = EventLog("s"), SlowSink()
    writer = EventWriter(sink, log, on_failure=lambda exc: None)
    writer.attach()
    for i in range(5):
        log.append(ev.Warning(code="w", message=str(i)))
    log.append(ev.TextDelta(message_id="m", text="live only"))
    await writer.flush()
    assert [seq for batch in sink.batches for seq in batch] == [1, 2, 3, 4, 5]
    assert len(sink.batches) < 5, "what piled up during a write goes in one batch"
    assert log.visible_seq == 6
    await writer.close()


async def test_a_failing_store_detaches_and_releases_subscribers() -> None:
    log, sink = EventLog("s"), SlowSink(fail_after=1)
    failures: list[Exception] = []
    writer = EventWriter(sink, log, on_failure=failures.append)
    writer.attach()
    log.append(ev.Warning(code="w", message="1"))
    await writer.flush()
    log.append(ev.Warning(code="w", message="2"))
    await asyncio.wait_for(writer.flush(), 1)
    assert [str(f) for f in failures] == ["disk full"]
    assert log.visible_seq == 2 and log.persist is None
    seen = [e.seq async for e in log.events(0, follow=False)]
    assert seen == [1, 2]
    await writer.close()
