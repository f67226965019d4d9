"""``FakeProvider``: the scripted fake LLM server's lifecycle, reply queue and request log.

The server is a stdlib ``ThreadingHTTPServer`` running in a daemon thread, so the same
object serves sync tests, asyncio tests (their event loop is never blocked by the server)
and subprocesses (the real ``kode`` binary) alike. ``stop()`` really ends everything: it
wakes sleeping faults, shuts down every open connection and joins the threads.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time
from collections import deque
from http.server import ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping

from .common import RenderContext, make_context
from .handler import Handler
from .model import Fault, RecordedRequest, Reply

Responder = Callable[[RecordedRequest], "Reply | str"]


def as_reply(item: Reply | str | Mapping[str, Any]) -> Reply:
    """Accept the shorthands tests like to write: a bare string or a JSON-style dict."""
    return item if isinstance(item, Reply) else Reply.from_dict(item)


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks its connections so it can close them on stop."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: FakeProvider) -> None:
        self.app = app
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse-DNS lookup that can take
        # seconds on a machine without network; we only ever need the numeric address.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address),
                                  name=f"fake-provider-conn-{client_address[1]}", daemon=True)
        with self._lock:
            self._active[request] = thread
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - a broken connection must not kill the server
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._active.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) and not self.app.verbose:
            return  # clients vanishing mid-response is routine under fault injection
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        """Shut every open connection (wakes blocked reads/writes) and join their threads."""
        with self._lock:
            active = dict(self._active)
        for sock in active:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in active.values():
            thread.join(max(0.0, deadline - time.monotonic()))


class FakeProvider:
    """A scripted OpenAI + Anthropic compatible HTTP server on 127.0.0.1.

    Replies come from the FIFO ``script()`` queue, then from ``responder(request)``, then from
    the default (``"ok"``, or the last user message with ``echo=True``). Each reply answers
    exactly one API request, so a fault scripted on one reply affects only that request.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        replies: Iterable[Reply | str | Mapping[str, Any]] = (),
        responder: Responder | None = None,
        echo: bool = False,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.responder: Responder | None = responder
        self.echo = echo
        self.verbose = verbose
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque(as_reply(r) for r in replies)
        self._requests: list[RecordedRequest] = []
        self._errors: list[BaseException] = []
        self._seq = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        """Bind and listen (synchronously: connections queue up at once), then serve in a thread."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.requested_port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-provider-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop accepting, abort in-flight responses (stalls/hangs included), close everything."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stop_event.set()
        server.shutdown()
        server.server_close()
        server.close_connections(timeout)
        if thread is not None:
            thread.join(timeout)
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeProvider:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- addresses ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeProvider is not running; call start() or use `with`")
        return self._server.server_port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` -- what the CLI prints."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base(self) -> str:
        """api_base for ``openai/...`` models (the SDK appends ``/chat/completions``)."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base(self) -> str:
        """api_base for ``anthropic/...`` models (litellm appends ``/v1/messages``)."""
        return self.base_url

    # ---- script and log -------------------------------------------------------------------
    def script(self, *replies: Reply | str | Mapping[str, Any]) -> FakeProvider:
        """Append replies to the FIFO queue; each request consumes one."""
        with self._lock:
            self._queue.extend(as_reply(r) for r in replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not yet consumed (assert 0 at the end of a test)."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every API request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by ``responder`` (each was answered with a 500)."""
        with self._lock:
            return list(self._errors)

    def clear(self) -> None:
        """Forget queued replies, recorded requests and errors."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._errors.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` requests were recorded (for tests driving a subprocess)."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.requests
            if len(current) >= count or time.monotonic() >= deadline:
                if len(current) < count:
                    raise TimeoutError(f"got {len(current)} request(s), expected {count}")
                return current
            time.sleep(0.01)

    def default_reply(self, request: RecordedRequest) -> Reply:
        """Used when the queue is empty and there is no responder."""
        return Reply(text=request.last_user_text or "ok") if self.echo else Reply(text="ok")

    def dispatch(self, request: RecordedRequest) -> tuple[Reply, RenderContext]:
        """Record ``request`` and choose its reply (called on the connection's thread)."""
        with self._lock:
            self._requests.append(request)
            self._seq += 1
            seq = self._seq
            reply = self._queue.popleft() if self._queue else None
        if reply is None:
            reply = self._from_responder(request)
        body = request.body if isinstance(request.body, dict) else {}
        return reply, make_context(reply, body, seq, default_model="fake-model")

    def _from_responder(self, request: RecordedRequest) -> Reply:
        responder = self.responder
        if responder is None:
            return self.default_reply(request)
        try:
            return as_reply(responder(request))
        except Exception as exc:  # noqa: BLE001 - surfaced via .errors and a 500
            with self._lock:
                self._errors.append(exc)
            return Reply(fault=Fault.status(500, message=f"fake provider responder raised {exc!r}"))
