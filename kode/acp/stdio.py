"""The ACP connection on stdin/stdout, with stdout reserved for protocol messages.

One stray `print` (a library's banner, a warning) on stdout would corrupt the JSON-RPC stream
and break the editor's connection, so `reserve_stdout` moves the real stdout to a private
descriptor and points fd 1 (and `sys.stdout`) at stderr: whatever else writes there ends up in
the editor's log instead.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import sys
import threading
from typing import Any

STREAM_LIMIT = 50 * 1024 * 1024
"""Longest JSON-RPC line accepted (a prompt embedding big files is one line)."""


def reserve_stdout() -> int:
    """A private descriptor for the protocol; fd 1 and `sys.stdout` now go to stderr."""
    sys.stdout.flush()
    protocol = os.dup(1)  # not inherited by tools' child processes (dup's default)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol


async def serve(agent: Any, protocol_fd: int) -> None:
    """Run the connection until stdin closes (or SIGTERM/SIGINT), then shut the agent down."""
    from acp import run_agent

    loop = asyncio.get_running_loop()
    reader = await _reader(loop)
    writer = await _writer(loop, protocol_fd)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, reader.feed_eof)  # same as the editor closing the pipe
    try:
        await run_agent(agent, writer, reader, use_unstable_protocol=True)
    finally:
        await agent.shutdown()
        writer.close()


async def _reader(loop: asyncio.AbstractEventLoop) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    if _pollable(sys.stdin.fileno()):
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    else:  # a regular file or /dev/null (`kode acp < requests.jsonl`): read it in a thread
        _feed_from_thread(loop, reader)
    return reader


def _pollable(fd: int) -> bool:
    """Whether the event loop can wait on `fd`. asyncio accepts /dev/null as a pipe and then
    fails in a callback, leaving the reader waiting forever, so ask the selector first."""
    selector = selectors.DefaultSelector()
    try:
        selector.register(fd, selectors.EVENT_READ)
    except (OSError, ValueError):
        return False
    finally:
        selector.close()
    return True


def _feed_from_thread(loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader) -> None:
    def pump() -> None:
        try:
            while data := sys.stdin.buffer.readline():
                loop.call_soon_threadsafe(reader.feed_data, data)
        finally:
            loop.call_soon_threadsafe(reader.feed_eof)

    threading.Thread(target=pump, name="kode-acp-stdin", daemon=True).start()


async def _writer(loop: asyncio.AbstractEventLoop, fd: int) -> asyncio.StreamWriter:
    pipe = os.fdopen(fd, "wb", buffering=0)
    try:
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
    except (ValueError, OSError):  # a regular file: plain blocking writes are fine there
        transport, protocol = _FileTransport(pipe), asyncio.streams.FlowControlMixin()
    return asyncio.StreamWriter(transport, protocol, None, loop)  # type: ignore[arg-type]


class _FileTransport(asyncio.WriteTransport):
    def __init__(self, file: Any) -> None:
        super().__init__()
        self._file = file
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self._file.write(data)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True
        self._file.close()

    def can_write_eof(self) -> bool:
        return False
