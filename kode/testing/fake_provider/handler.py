"""The HTTP request handler: parse, record, pick a reply, write it -- faults included.

Everything API-specific lives in the wire modules; this file only knows HTTP. Streams use
chunked transfer encoding on a keep-alive HTTP/1.1 connection, like the real providers, so a
``cut`` fault (close without the terminating zero-length chunk) is seen by httpx/aiohttp
as the incomplete body it really is rather than as a clean end of stream.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import anthropic_wire, openai_wire
from .common import RenderContext
from .model import Api, Fault, RecordedRequest, Reply


class Wire(Protocol):
    """What a wire-format module provides (``openai_wire`` and ``anthropic_wire`` both do)."""

    def http_error(self, fault: Fault) -> tuple[int, dict[str, Any]]: ...
    def inline_error(self, fault: Fault) -> dict[str, Any]: ...
    def stream_error(self, fault: Fault) -> bytes: ...
    def render_json(self, reply: Reply, ctx: RenderContext) -> dict[str, Any]: ...
    def render_stream(self, reply: Reply, ctx: RenderContext) -> list[bytes]: ...


class Dispatcher(Protocol):
    """The provider side the handler talks to: records a request and decides the reply."""

    verbose: bool

    def dispatch(self, request: RecordedRequest) -> tuple[Reply, RenderContext]: ...


class ServerState(Protocol):
    """Attributes the handler expects on its server object."""

    app: Dispatcher
    stop_event: threading.Event


WIRES: dict[str, Wire] = {"openai": openai_wire, "anthropic": anthropic_wire}


def route(path: str) -> Api | None:
    """Which API a POST path belongs to; tolerant of prefixes so odd api_base values still work."""
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/messages"):
        return "anthropic"
    return None


class Handler(BaseHTTPRequestHandler):
    """One connection; ``BaseHTTPRequestHandler`` loops over its keep-alive requests."""

    protocol_version = "HTTP/1.1"
    server_version = "kode-fake-provider"
    # Without TCP_NODELAY, Nagle + the client's delayed ACK holds every small SSE chunk ~40 ms.
    disable_nagle_algorithm = True
    server: ServerState  # type: ignore[assignment]

    # ---- plumbing -------------------------------------------------------------------------
    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.app.verbose:
            super().log_message(format, *args)

    def _sleep(self, seconds: float) -> bool:
        """Wait, but wake at once on shutdown; True means "stopped: abandon this response"."""
        return self.server.stop_event.wait(seconds) if seconds > 0 else self.server.stop_event.is_set()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _write_chunk(self, data: bytes, chunked: bool = True) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close with FIN and no more bytes: the client sees a truncated response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees "connection reset by peer"."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # release makefile()'s reference, or close() below is deferred
            self.connection.close()
        except OSError:
            pass

    # ---- routes ---------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path.rstrip("/")
        if path in ("", "/health"):
            self._send_json(200, {"status": "ok"})
        elif path.endswith("/models"):
            self._send_json(200, {"object": "list", "data": [
                {"id": "gpt-4o-mini", "object": "model", "owned_by": "fake"},
                {"id": "claude-3-5-haiku-20241022", "object": "model", "owned_by": "fake"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        try:
            self._handle_post()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client went away; nothing left to tell it
        except OSError:
            self.close_connection = True

    def _handle_post(self) -> None:
        raw = self._read_body()
        api = route(urlsplit(self.path).path)
        if api is None:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        wire = WIRES[api]
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            status, err = wire.http_error(Fault.status(400, message=f"invalid JSON body: {exc}"))
            self._send_json(status, err)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = RecordedRequest(path=self.path, headers=headers, body=body, api=api)
        reply, ctx = self.server.app.dispatch(request)
        self._respond(wire, reply, ctx, stream=request.stream)

    # ---- replies --------------------------------------------------------------------------
    def _respond(self, wire: Wire, reply: Reply, ctx: RenderContext, stream: bool) -> None:
        fault = reply.fault
        if fault is not None and fault.kind == "reset":
            self._reset()
            return
        if fault is not None and fault.kind == "hang" and self._sleep(fault.seconds):
            self._drop()
            return
        if fault is not None and fault.kind == "status":
            status, body = wire.http_error(fault)
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                seconds = fault.retry_after
                headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
            self._send_json(status, body, headers)
            return
        if stream:
            self._stream(wire, wire.render_stream(reply, ctx), reply)
        else:
            self._whole(wire, wire.render_json(reply, ctx), reply)

    def _whole(self, wire: Wire, body: dict[str, Any], reply: Reply) -> None:
        """Non-streaming answer; stream-only faults get their closest one-shot equivalent."""
        fault = reply.fault
        if fault is not None and fault.kind == "error_after_200":
            self._send_json(200, wire.inline_error(fault))
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault is not None and fault.kind == "cut":
            self.wfile.write(data[: len(data) // 2])
            self._drop()
            return
        if fault is not None and fault.kind == "stall" and self._sleep(fault.seconds):
            self._drop()
            return
        self.wfile.write(data)

    def _stream(self, wire: Wire, frames: list[bytes], reply: Reply) -> None:
        """SSE over chunked encoding, one event per chunk, with the fault at its chunk index."""
        # HTTP/1.0 clients cannot take chunked encoding: stream raw and mark the end by closing.
        chunked = self.request_version != "HTTP/1.0"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()
        fault = reply.fault
        fault_at = min(fault.after_chunks, len(frames)) if fault is not None else -1
        for index in range(len(frames) + 1):
            if index == fault_at and fault is not None:
                if fault.kind == "cut":
                    self._drop()
                    return
                if fault.kind == "error_after_200":
                    self._write_chunk(wire.stream_error(fault), chunked)
                    break
                if fault.kind == "stall" and self._sleep(fault.seconds):
                    self._drop()
                    return
            if index == len(frames):
                break
            if index > 0 and reply.delay and self._sleep(reply.delay):
                self._drop()
                return
            self._write_chunk(frames[index], chunked)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
