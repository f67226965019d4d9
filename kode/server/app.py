"""The HTTP API (FastAPI): sessions as resources, their events as SSE and WebSocket.

Every route is a thin translation onto the SessionHub and a SessionClient; nothing here knows
how a turn runs. Errors are JSON `{"error": {"code", "message"}}` with a 4xx status: a refused
request says what was wrong, and no input yields a 500.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Body, FastAPI, Header, Path, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kode import __version__
from kode.host.hub import Conflict, Hosted, HubError, LimitReached, SessionHub
from kode.protocol.codec import op_adapter
from kode.protocol.common import ApprovalDecision
from kode.protocol.events import Event
from kode.protocol.ops import AnswerApproval as AnswerOp
from kode.protocol.ops import ClearContext, Op, SetModel, SetPermissionMode, Shutdown, SubmitMessage
from kode.server import schemas
from kode.server.security import Guard, SecurityMiddleware
from kode.server.streams import ConnectionLimit, is_turn_end, sse_stream, websocket_session

SessionId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$", description="A session id.")]
RequestId = Annotated[str, Path(min_length=1, max_length=100, description="An approval request id.")]
log = logging.getLogger("kode.server")
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorResponse, "description": text}
    for status, text in {
        400: "Bad request",
        401: "Missing or wrong token",
        403: "Forbidden Host or Origin",
        404: "No such session",
        409: "Conflict: the session is busy or the approval already answered",
        413: "Request body too large",
        422: "The body or parameters do not validate",
        429: "A limit was reached",
    }.items()
}
SSE_RESPONSE = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "SSE"}}


@dataclass(slots=True)
class ServerLimits:
    max_connections: int = 256
    max_body_bytes: int = 1_048_576
    heartbeat: float = 15.0


@dataclass(slots=True)
class ApiState:
    hub: SessionHub
    limits: ServerLimits
    connections: ConnectionLimit = field(init=False)

    def __post_init__(self) -> None:
        self.connections = ConnectionLimit(self.limits.max_connections)

    def take_connection(self) -> None:
        if not self.connections.try_acquire():
            raise LimitReached("too many open event streams; close one or raise [server] max_connections")


def create_app(hub: SessionHub, guard: Guard, limits: ServerLimits | None = None) -> FastAPI:
    """The ASGI app: routes, JSON errors, and the security middleware around everything."""
    state = ApiState(hub, limits or ServerLimits())
    app = FastAPI(
        title="kode",
        version=__version__,
        summary="A kode session server: sessions, messages, approvals, and their events as SSE or WebSocket.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=ERRORS,
    )
    app.state.api = state
    _error_handlers(app)
    _routes(app, state)
    app.add_middleware(BodyLimit, max_bytes=state.limits.max_body_bytes)
    app.add_middleware(SecurityMiddleware, guard=guard)  # added last: runs first
    return app


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes; raise [server] max_body_bytes to allow it")


class BodyLimit:
    """Refuses request bodies over `max_bytes` with a JSON 413: at once when Content-Length says so,
    else as soon as a chunked body grows past it (raised from `receive`, answered by the handler).

    FastAPI's own `max_body_size` answers in plain text, and replaces any response (our JSON one
    included) with it when Content-Length is too large, so it is not used.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((value for name, value in scope.get("headers", []) if name.lower() == b"content-length"), None)
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            response = _error(413, "too_large", str(BodyTooLarge(self.max_bytes).detail))
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "too_large", 429: "limit"}


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def hub_error(request: Request, exc: HubError) -> JSONResponse:
        return _error(exc.status, _CODES.get(exc.status, "error"), str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
        return _error(422, "invalid", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: logged in full here; the client gets the type only (no paths, no secrets).
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal", f"internal error ({type(exc).__name__}); see the server's log")


def _since(since: int | None, last_event_id: str | None) -> int:
    """Where an event stream starts: Last-Event-ID (a reconnect) wins over ?since."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    if last_event_id is not None and last_event_id.strip():
        raise HubError("Last-Event-ID must be the seq of an event (an integer)")
    return since or 0


def _routes(app: FastAPI, state: ApiState) -> None:  # noqa: C901 - one place lists the whole API
    hub = state.hub

    @app.get("/v1/health", tags=["server"])
    async def health() -> schemas.Health:
        """Liveness; needs no token and says nothing else."""
        return schemas.Health()

    @app.get("/v1/sessions", tags=["sessions"])
    async def list_sessions() -> schemas.SessionList:
        """Loaded sessions first, then stored ones, newest first."""
        return schemas.SessionList(sessions=[schemas.SessionOut.of(info) for info in await hub.list()])

    @app.post("/v1/sessions", status_code=201, tags=["sessions"])
    async def create_session(body: Annotated[schemas.CreateSession, Body()] = schemas.CreateSession()) -> schemas.SessionOut:
        hosted = await hub.create(
            cwd=body.cwd, model=body.model, permission_mode=body.permission_mode, title=body.title
        )
        hosted.title = body.title
        return schemas.SessionOut.of(hosted.info())

    @app.get("/v1/sessions/{session_id}", tags=["sessions"])
    async def get_session(session_id: SessionId) -> schemas.SessionOut:
        return schemas.SessionOut.of((await hub.get(session_id)).info())

    @app.patch("/v1/sessions/{session_id}", tags=["sessions"])
    async def update_session(session_id: SessionId, body: schemas.UpdateSession) -> schemas.SessionOut:
        """Change the model or the permission mode (everyone attached sees `settings_changed`)."""
        hosted = await hub.get(session_id)
        client = hosted.client()
        if body.model is not None:
            await client.submit(SetModel(model=body.model))
        if body.permission_mode is not None:
            await client.submit(SetPermissionMode(mode=body.permission_mode))
        return schemas.SessionOut.of(hosted.info())

    @app.delete("/v1/sessions/{session_id}", status_code=204, tags=["sessions"])
    async def delete_session(session_id: SessionId) -> Response:
        """Stop the session if it runs and delete it from the store."""
        await hub.delete(session_id)
        return Response(status_code=204)

    @app.post("/v1/sessions/{session_id}/clear", tags=["sessions"])
    async def clear_session(session_id: SessionId) -> schemas.SessionOut:
        """Start afresh: the model no longer sees the conversation (its events stay)."""
        hosted = await hub.get(session_id)
        _refuse_busy(hosted.busy)
        await hosted.client().submit(ClearContext())
        return schemas.SessionOut.of(hosted.info())

    @app.post(
        "/v1/sessions/{session_id}/messages",
        tags=["turns"],
        responses={200: {"model": schemas.MessageResult, **SSE_RESPONSE[200]}},
        response_model=None,
    )
    async def post_message(session_id: SessionId, body: schemas.PostMessage) -> Any:
        """Run a turn. Answers when it ends, or with `stream: true` as SSE of the turn's events."""
        hosted = await hub.get(session_id)
        _refuse_busy(hosted.busy)
        since = hosted.last_seq
        client = hosted.client()
        if body.stream:
            state.take_connection()
            stream = sse_stream(
                hub, session_id, since, heartbeat=state.limits.heartbeat, limit=state.connections, stop=is_turn_end
            )
            await client.submit(SubmitMessage(text=body.text))
            return StreamingResponse(stream, media_type="text/event-stream", headers=_NO_CACHE)
        async with hub.attached(session_id):
            events = client.events(since)
            await client.submit(SubmitMessage(text=body.text))
            async for event in events:
                if is_turn_end(event):
                    return _result(session_id, event)
        raise HubError("the session closed before the turn finished")

    @app.post("/v1/sessions/{session_id}/ops", status_code=202, tags=["turns"])
    async def submit_op(session_id: SessionId, body: Annotated[Op, Body(discriminator="type")]) -> schemas.Accepted:
        """Submit any protocol op; its effects arrive as events. A new turn while one runs: 409."""
        op = op_adapter().validate_python(body) if isinstance(body, dict) else body
        hosted = await hub.get(session_id)
        if isinstance(op, Shutdown):
            raise HubError("a client cannot shut a served session down; DELETE it instead")
        if isinstance(op, SubmitMessage | ClearContext) and hosted.busy:
            await hosted.client().submit(op)  # the session tells every attached client it is busy
            _refuse_busy(True)
        if isinstance(op, AnswerOp):
            _answer(hosted, op.request_id, op.decision, op.reason)
        else:
            await hosted.client().submit(op)
        return schemas.Accepted(last_seq=hosted.last_seq)

    @app.post("/v1/sessions/{session_id}/cancel", status_code=202, tags=["turns"])
    async def cancel(session_id: SessionId) -> schemas.Accepted:
        from kode.protocol.ops import Cancel

        hosted = await hub.get(session_id)
        await hosted.client().submit(Cancel())
        return schemas.Accepted(last_seq=hosted.last_seq)

    @app.get("/v1/sessions/{session_id}/approvals", tags=["approvals"])
    async def pending_approvals(session_id: SessionId) -> schemas.PendingApprovals:
        hosted = await hub.get(session_id)
        return schemas.PendingApprovals(
            approvals=[
                schemas.PendingApproval(
                    request_id=r.request_id,
                    call_id=r.call_id,
                    tool_name=r.tool_name,
                    summary=r.summary,
                    details=r.details,
                    suggested_rule=r.suggested_rule,
                )
                for r in hosted.pending_approvals()
            ]
        )

    @app.post("/v1/sessions/{session_id}/approvals/{request_id}", tags=["approvals"])
    async def answer_approval(
        session_id: SessionId,
        request_id: RequestId,
        body: schemas.AnswerApproval,
    ) -> schemas.Accepted:
        """Answer a pending approval; the first answer from any client wins (later ones: 409)."""
        hosted = await hub.get(session_id)
        _answer(hosted, request_id, body.decision, body.reason)
        return schemas.Accepted(last_seq=hosted.last_seq)

    @app.get("/v1/sessions/{session_id}/usage", tags=["sessions"])
    async def usage(session_id: SessionId) -> schemas.UsageOut:
        """Tokens and cost: in all, by model and by agent (sub-agents included)."""
        hosted = await hub.get(session_id)
        return schemas.UsageOut.of(session_id, hosted.usage())

    @app.get("/v1/sessions/{session_id}/events", tags=["events"], responses=SSE_RESPONSE, response_class=StreamingResponse)
    async def events(
        session_id: SessionId,
        since: Annotated[int | None, Query(ge=0, description="Events after this seq (default: all).")] = None,
        follow: Annotated[bool, Query(description="Keep the stream open for new events.")] = True,
        last_event_id: Annotated[str | None, Header(max_length=32)] = None,
    ) -> StreamingResponse:
        """The session's events as SSE; reconnect with `Last-Event-ID` to resume exactly."""
        start = _since(since, last_event_id)
        hosted = await hub.get(session_id)
        state.take_connection()
        end = hosted.last_seq
        stop = (lambda event: False) if follow else (lambda event: event.seq >= end)
        if not follow and start >= end:
            state.connections.release()
            return StreamingResponse(iter([b"retry: 1000\n\n"]), media_type="text/event-stream", headers=_NO_CACHE)
        stream = sse_stream(hub, session_id, start, heartbeat=state.limits.heartbeat, limit=state.connections, stop=stop)
        return StreamingResponse(stream, media_type="text/event-stream", headers=_NO_CACHE)

    @app.websocket("/v1/sessions/{session_id}/ws")
    async def websocket(websocket: WebSocket, session_id: str, since: int = 0) -> None:
        """Ops in, events out; see kode.server.streams.websocket_session."""
        # Refusals accept first: a close before the handshake completes reaches the client as a
        # bare HTTP 403, and the close code saying why would be lost.
        try:
            await hub.get(session_id)
        except HubError as exc:
            await websocket.accept()
            await websocket.close(code=4404 if exc.status == 404 else 4400, reason=_close_reason(str(exc)))
            return
        if not state.connections.try_acquire():
            await websocket.accept()
            await websocket.close(code=1013, reason="too many open event streams")
            return
        await websocket_session(
            websocket, hub, session_id, max(since, 0), heartbeat=state.limits.heartbeat, limit=state.connections
        )


_NO_CACHE = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _close_reason(text: str) -> str:
    """A WebSocket close reason fits in 123 bytes of UTF-8 (a longer one fails to send)."""
    return text.encode()[:120].decode(errors="ignore")


def _refuse_busy(busy: bool) -> None:
    if busy:
        raise Conflict("session is busy: a turn is already running; wait for it or cancel it")


def _answer(hosted: Hosted, request_id: str, decision: ApprovalDecision, reason: str) -> None:
    if not hosted.answer_approval(request_id, decision, reason):
        raise Conflict(f"approval {request_id} is unknown or already answered")


def _result(session_id: str, event: Event) -> schemas.MessageResult:
    return schemas.MessageResult(
        session_id=session_id,
        turn_id=event.turn_id,  # type: ignore[union-attr]
        status=event.status,  # type: ignore[union-attr]
        result=event.result,  # type: ignore[union-attr]
        usage=event.usage,  # type: ignore[union-attr]
        error=event.error,  # type: ignore[union-attr]
    )
