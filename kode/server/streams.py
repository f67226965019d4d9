"""A session's events on the wire: Server-Sent Events and a WebSocket.

Both are views of one mechanism, `client.events(since)`. Each SSE event carries its `seq` as its
`id`, so a browser's or a client's automatic reconnect with `Last-Event-ID` resumes exactly where
it stopped (the event log replays everything after that seq, deltas included). Keep-alives go out
when nothing else does, so proxies keep the stream open and a dead peer is noticed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from kode.client.base import SessionClient
from kode.host.hub import Hosted, SessionHub
from kode.protocol.codec import dump_event, parse_op
from kode.protocol.common import ROOT_AGENT
from kode.protocol.events import Event, TurnFinished
from kode.protocol.ops import AnswerApproval, Shutdown

_END = object()


class ConnectionLimit:
    """Counts open event streams across the server; past the limit new ones are refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def try_acquire(self) -> bool:
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1


async def batched(events: AsyncIterator[Event], heartbeat: float) -> AsyncIterator[list[Event]]:
    """`events` in batches of whatever is ready, and an empty batch whenever `heartbeat` seconds
    pass without one (time for a keep-alive).

    The events are read by a task into a queue, so waiting with a timeout never cancels the
    event generator itself. Batching is what keeps fan-out cheap: a burst of events costs one
    wake-up and one socket write per subscriber, not one per event.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in events:
                queue.put_nowait(event)
        except Exception as exc:  # noqa: BLE001 - handed to the reader, which ends the stream
            queue.put_nowait(exc)
        finally:
            queue.put_nowait(_END)

    task = asyncio.get_running_loop().create_task(pump())
    try:
        while True:
            if queue.empty():
                try:
                    first = await asyncio.wait_for(queue.get(), heartbeat)
                except TimeoutError:
                    yield []
                    continue
            else:
                first = queue.get_nowait()
            items = [first]
            while not queue.empty():
                items.append(queue.get_nowait())
            batch: list[Event] = []
            for item in items:
                if item is _END or isinstance(item, Exception):
                    if batch:
                        yield batch
                    if isinstance(item, Exception):
                        raise item
                    return
                batch.append(item)
            yield batch
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def sse_frame(event: Event) -> bytes:
    """One SSE event: `id` is the seq (for Last-Event-ID), `event` the type, `data` the JSON."""
    return f"id: {event.seq}\nevent: {event.type}\ndata: {dump_event(event)}\n\n".encode()


KEEP_ALIVE = b": keep-alive\n\n"
END_FRAME = b"event: end\ndata: {}\n\n"
"""Sent when the session's log closes, so clients can tell "finished" from "connection lost"."""


def is_turn_end(event: Event) -> bool:
    return isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT


async def sse_stream(
    hub: SessionHub,
    session_id: str,
    since: int,
    *,
    heartbeat: float,
    limit: ConnectionLimit,
    stop: Callable[[Event], bool] = lambda event: False,
) -> AsyncIterator[bytes]:
    """The SSE body: events after `since` until `stop(event)` or the session closes.

    The connection slot was taken by the caller (so an over-limit request gets 429 before any
    byte is sent); it is given back here, however the stream ends.
    """
    try:
        async with hub.attached(session_id) as hosted:
            yield b"retry: 1000\n\n"
            async for batch in batched(hosted.client().events(since), heartbeat):
                if not batch:
                    yield KEEP_ALIVE
                    continue
                frames: list[bytes] = []
                for event in batch:
                    frames.append(sse_frame(event))
                    if stop(event):
                        yield b"".join(frames)
                        return
                yield b"".join(frames)
            yield END_FRAME  # the session closed: a client should not reconnect
    finally:
        limit.release()


async def websocket_session(
    websocket: WebSocket, hub: SessionHub, session_id: str, since: int, *, heartbeat: float, limit: ConnectionLimit
) -> None:
    """One WebSocket client of a session: ops in, events out, heartbeats both ways.

    Frames from the client are protocol ops (`{"type": "user_message", "text": "…"}`, `cancel`,
    `approval_answer`, `set_model`, `set_permission_mode`, `clear`). A malformed one gets an
    `op_error` frame and the connection stays open. The server sends every event as JSON and a
    `{"type": "heartbeat"}` frame when it has been quiet for `heartbeat` seconds.
    """
    try:
        async with hub.attached(session_id) as hosted:
            await websocket.accept()
            client = hosted.client()
            sender = asyncio.get_running_loop().create_task(_send_events(websocket, client, since, heartbeat))
            try:
                await _receive_ops(websocket, hosted, client)
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
    finally:
        limit.release()


async def _send_events(websocket: WebSocket, client: SessionClient, since: int, heartbeat: float) -> None:
    try:
        async for batch in batched(client.events(since), heartbeat):
            if not batch:
                await websocket.send_text('{"type":"heartbeat"}')
            for event in batch:
                await websocket.send_text(dump_event(event))
        await websocket.close(code=1000, reason="session closed")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away; the receiver notices too


async def _receive_ops(websocket: WebSocket, hosted: Hosted, client: SessionClient) -> None:
    while True:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        except KeyError:  # a binary frame: receive_text finds no "text"
            await _op_error(websocket, "send ops as JSON text frames")
            continue
        hosted.touch()
        try:
            data = json.loads(text)
        except ValueError:
            await _op_error(websocket, "a frame is not JSON")
            continue
        if isinstance(data, dict) and data.get("type") in ("heartbeat", "ping"):
            continue
        try:
            op = parse_op(data)
        except ValidationError as exc:
            await _op_error(websocket, f"not a valid op: {_first_problem(exc)}")
            continue
        if isinstance(op, Shutdown):
            await _op_error(websocket, "a client cannot shut a served session down; DELETE it or let it idle")
            continue
        if isinstance(op, AnswerApproval):
            if not hosted.answer_approval(op.request_id, op.decision, op.reason):
                await _op_error(websocket, f"approval {op.request_id} is unknown or already answered")
            continue
        await client.submit(op)


async def _op_error(websocket: WebSocket, message: str) -> None:
    try:
        await websocket.send_text(json.dumps({"type": "op_error", "message": message}))
    except (WebSocketDisconnect, RuntimeError):
        pass


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
