"""The fake provider over raw HTTP: wire shapes, every fault kind, queue semantics, lifecycle, CLI.

These tests talk plain httpx so a failure points at the server, not at litellm's parsing.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from kode.testing.fake_provider import (
    FakeProvider,
    Fault,
    RecordedRequest,
    Reply,
    ToolCall,
    load_script,
    stream_events,
)

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"


# ---- helpers ------------------------------------------------------------------------------
def parse_sse(text: str) -> list[tuple[str | None, Any]]:
    """(event, data) pairs; data is JSON-decoded except the literal ``[DONE]``."""
    events = []
    for block in text.strip().split("\n\n"):
        if not block.strip():
            continue
        event = None
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: "):
                data += line[len("data: "):]
        events.append((event, data if data == "[DONE]" else json.loads(data)))
    return events


def openai_body(stream: bool = False, include_usage: bool = False, text: str = "hi") -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}],
                            "stream": stream}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


def anthropic_body(stream: bool = False, text: str = "hi") -> dict[str, Any]:
    return {"model": "claude-3-5-haiku-20241022", "max_tokens": 100, "stream": stream,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}


def post(fp: FakeProvider, api: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    path = OPENAI_PATH if api == "openai" else ANTHROPIC_PATH
    return httpx.post(fp.base_url + path, json=body, timeout=kw.pop("timeout", 5.0), **kw)


def read_stream_until_error(fp: FakeProvider, api: str, body: dict[str, Any],
                            timeout: float = 5.0) -> tuple[str, BaseException | None]:
    """Read a streamed response as far as it goes; return the text and the error that ended it."""
    path = OPENAI_PATH if api == "openai" else ANTHROPIC_PATH
    received = b""
    try:
        with httpx.stream("POST", fp.base_url + path, json=body, timeout=timeout) as response:
            for piece in response.iter_raw():
                received += piece
    except httpx.HTTPError as exc:
        return received.decode(), exc
    return received.decode(), None


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


def _fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-provider")]


# ---- addresses, lifecycle -----------------------------------------------------------------
def test_addresses_and_health(fp: FakeProvider) -> None:
    assert fp.base_url == f"http://127.0.0.1:{fp.port}" and fp.port > 0
    assert fp.openai_base == fp.base_url + "/v1"
    assert fp.anthropic_base == fp.base_url
    assert httpx.get(fp.base_url + "/health").json() == {"status": "ok"}
    assert httpx.post(fp.base_url + "/v1/nothing", json={}).status_code == 404
    assert fp.requests == []  # health checks and 404s are not API requests


def test_start_and_stop_are_fast_and_release_everything() -> None:
    before = set(_fake_threads())
    started = time.perf_counter()
    fp = FakeProvider().start()
    assert time.perf_counter() - started < 0.2
    port = fp.port
    with httpx.Client() as client:  # leave a keep-alive connection open across stop()
        assert client.post(fp.base_url + OPENAI_PATH, json=openai_body()).status_code == 200
        stopping = time.perf_counter()
        fp.stop()
        assert time.perf_counter() - stopping < 1.0
    assert not fp.running
    fp.stop()  # idempotent
    assert set(_fake_threads()) <= before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_stop_interrupts_a_stalled_stream_quickly() -> None:
    fp = FakeProvider().start()
    fp.script(Reply(text="abcdefgh" * 4, fault=Fault.stall(after_chunks=2, seconds=30)))
    result: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: result.update(
        out=read_stream_until_error(fp, "openai", openai_body(stream=True), timeout=10)))
    reader.start()
    fp.wait_for_requests(1)
    time.sleep(0.1)
    started = time.perf_counter()
    fp.stop()
    assert time.perf_counter() - started < 1.0
    reader.join(2)
    assert not reader.is_alive()
    text, error = result["out"]
    assert error is not None and "[DONE]" not in text


async def test_usable_from_asyncio_without_blocking_the_loop() -> None:
    async with FakeProvider() as fp:
        # a responder, not the queue: which of the two concurrent requests arrives first is a race
        fp.responder = lambda r: Reply(text="one", delay=0.05, chunk_size=1) if r.api == "openai" else "two"
        async with httpx.AsyncClient(base_url=fp.base_url) as client:
            slow, fast = await asyncio.gather(
                client.post(OPENAI_PATH, json=openai_body(stream=True)),
                client.post(ANTHROPIC_PATH, json=anthropic_body()))
    assert "".join(d["choices"][0]["delta"].get("content") or "" for _, d in parse_sse(slow.text)[:-1]) == "one"
    assert fast.json()["content"][0]["text"] == "two"


# ---- OpenAI wire ---------------------------------------------------------------------------
def test_openai_non_stream_text_and_default_usage(fp: FakeProvider) -> None:
    fp.script(Reply(text="Hello there"))
    data = post(fp, "openai", openai_body()).json()
    assert data["object"] == "chat.completion" and data["model"] == "gpt-4o-mini"
    choice = data["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello there", "refusal": None}
    assert choice["finish_reason"] == "stop"
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # deterministic: the same request gets the same estimate
    again = post(fp, "openai", openai_body()).json()["usage"]
    assert again["prompt_tokens"] == usage["prompt_tokens"]


def test_openai_non_stream_tool_calls_thinking_and_explicit_usage(fp: FakeProvider) -> None:
    fp.script(Reply(text="Let me look.", thinking="ponder", usage=(123, 45), tool_calls=[
        ToolCall("read_file", {"path": "a.py"}), ToolCall("grep", {"pattern": "x"}, id="call_mine")]))
    message = post(fp, "openai", openai_body()).json()
    assert message["usage"]["prompt_tokens"] == 123 and message["usage"]["completion_tokens"] == 45
    assert message["choices"][0]["finish_reason"] == "tool_calls"
    msg = message["choices"][0]["message"]
    assert msg["reasoning_content"] == "ponder" and msg["content"] == "Let me look."
    calls = msg["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["read_file", "grep"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"path": "a.py"}
    assert calls[0]["id"].startswith("call_") and calls[1]["id"] == "call_mine"


def test_openai_stream_with_usage_and_tool_call_deltas(fp: FakeProvider) -> None:
    args = {"path": "src/some/long/path.py", "limit": 200}
    fp.script(Reply(text="Reading the file now", chunk_size=5, usage=(10, 20),
                    tool_calls=[ToolCall("read_file", args), ToolCall("ls", {"dir": "."})]))
    response = post(fp, "openai", openai_body(stream=True, include_usage=True))
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert events[-1] == (None, "[DONE]")
    chunks = [d for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("usage" in c and c["usage"] is None for c in chunks[:-1])
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["prompt_tokens"] == 10
    assert usage_chunk["usage"]["completion_tokens"] == 20
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    texts = [d["content"] for d in deltas if d.get("content")]
    assert texts == ["Readi", "ng th", "e fil", "e now"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    tool_deltas = [tc for d in deltas for tc in d.get("tool_calls", [])]
    first = [tc for tc in tool_deltas if "id" in tc]
    assert [(tc["index"], tc["function"]["name"], tc["function"]["arguments"]) for tc in first] == [
        (0, "read_file", ""), (1, "ls", "")]
    for index, expected in ((0, args), (1, {"dir": "."})):
        pieces = [tc["function"]["arguments"] for tc in tool_deltas if tc["index"] == index and "id" not in tc]
        assert len(pieces) >= 2, "arguments must arrive in several partial deltas"
        assert all("name" not in tc["function"] for tc in tool_deltas if "id" not in tc)
        assert json.loads("".join(pieces)) == expected


def test_openai_stream_without_include_usage_has_no_usage(fp: FakeProvider) -> None:
    fp.script(Reply(text="hi", thinking="hmm, let me think"))
    events = parse_sse(post(fp, "openai", openai_body(stream=True)).text)
    chunks = [d for _, d in events[:-1]]
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    thinking = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks)
    assert thinking == "hmm, let me think"


# ---- Anthropic wire ------------------------------------------------------------------------
def test_anthropic_non_stream_blocks(fp: FakeProvider) -> None:
    fp.script(Reply(text="Done.", thinking="mull", usage=(7, 8),
                    tool_calls=[ToolCall("edit", {"path": "a.py", "old": "x", "new": "y"})]))
    data = post(fp, "anthropic", anthropic_body()).json()
    assert data["type"] == "message" and data["role"] == "assistant"
    assert data["model"] == "claude-3-5-haiku-20241022"
    kinds = [b["type"] for b in data["content"]]
    assert kinds == ["thinking", "text", "tool_use"]
    assert data["content"][0]["thinking"] == "mull" and data["content"][0]["signature"]
    tool = data["content"][2]
    assert tool["name"] == "edit" and tool["input"] == {"path": "a.py", "old": "x", "new": "y"}
    assert tool["id"].startswith("toolu_")
    assert data["stop_reason"] == "tool_use"
    assert data["usage"]["input_tokens"] == 7 and data["usage"]["output_tokens"] == 8


def test_anthropic_stream_event_sequence(fp: FakeProvider) -> None:
    args = {"command": "pytest -q tests/unit"}
    fp.script(Reply(text="Running tests", thinking="plan it", usage=(11, 22), chunk_size=4,
                    tool_calls=[ToolCall("bash", args), ToolCall("ls", {})]))
    response = post(fp, "anthropic", anthropic_body(stream=True))
    events = parse_sse(response.text)
    names = [e for e, _ in events]
    assert all(e == d["type"] for e, d in events)
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    starts = [d for e, d in events if e == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "thinking"), (1, "text"), (2, "tool_use"), (3, "tool_use")]
    assert names.count("content_block_stop") == 4
    assert starts[2]["content_block"]["name"] == "bash" and starts[2]["content_block"]["input"] == {}
    deltas = [d for e, d in events if e == "content_block_delta"]

    def joined(index: int, kind: str, key: str) -> list[str]:
        return [d["delta"][key] for d in deltas if d["index"] == index and d["delta"]["type"] == kind]

    assert "".join(joined(0, "thinking_delta", "thinking")) == "plan it"
    assert joined(0, "signature_delta", "signature")
    assert joined(1, "text_delta", "text") == ["Runn", "ing ", "test", "s"]
    pieces = joined(2, "input_json_delta", "partial_json")
    assert len([p for p in pieces if p]) >= 2 and json.loads("".join(pieces)) == args
    assert "".join(joined(3, "input_json_delta", "partial_json")) == "{}"
    start = events[0][1]["message"]
    assert start["usage"]["input_tokens"] == 11
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "tool_use" and final["usage"]["output_tokens"] == 22


def test_finish_reason_vocabulary_is_translated(fp: FakeProvider) -> None:
    fp.script(Reply(text="trunc", finish_reason="length"), Reply(text="trunc", finish_reason="max_tokens"))
    assert post(fp, "anthropic", anthropic_body()).json()["stop_reason"] == "max_tokens"
    assert post(fp, "openai", openai_body()).json()["choices"][0]["finish_reason"] == "length"


def test_delay_spaces_out_chunks(fp: FakeProvider) -> None:
    fp.script(Reply(text="abcdef", chunk_size=2, delay=0.05))
    started = time.perf_counter()
    events = parse_sse(post(fp, "openai", openai_body(stream=True)).text)
    # role + 3 text + finish + [DONE] = 6 frames -> 5 gaps
    assert len(events) == 6 and time.perf_counter() - started >= 0.25


# ---- queue, responder, recording -----------------------------------------------------------
def test_queue_is_fifo_then_responder_then_default(fp: FakeProvider) -> None:
    fp.script(Reply(text="first"), "second")
    assert fp.pending == 2
    texts = [post(fp, "openai", openai_body()).json()["choices"][0]["message"]["content"] for _ in range(2)]
    assert texts == ["first", "second"] and fp.pending == 0
    assert post(fp, "openai", openai_body()).json()["choices"][0]["message"]["content"] == "ok"
    seen: list[RecordedRequest] = []
    fp.responder = lambda request: seen.append(request) or Reply(text=f"you said {request.last_user_text}")
    out = post(fp, "anthropic", anthropic_body(text="ping")).json()
    assert out["content"][0]["text"] == "you said ping" and seen[0].api == "anthropic"
    fp.script(Reply(text="queued wins"))
    assert post(fp, "openai", openai_body()).json()["choices"][0]["message"]["content"] == "queued wins"


def test_responder_exception_becomes_500_and_is_kept(fp: FakeProvider) -> None:
    def boom(request: RecordedRequest) -> Reply:
        raise RuntimeError("responder bug")

    fp.responder = boom
    response = post(fp, "openai", openai_body())
    assert response.status_code == 500 and "responder bug" in response.json()["error"]["message"]
    assert [type(e) for e in fp.errors] == [RuntimeError]


def test_echo_default(fp: FakeProvider) -> None:
    fp.echo = True
    assert post(fp, "openai", openai_body(text="repeat me")).json()["choices"][0]["message"]["content"] == "repeat me"
    data = post(fp, "anthropic", anthropic_body(text="and me")).json()
    assert data["content"][0]["text"] == "and me"


def test_requests_are_recorded(fp: FakeProvider) -> None:
    post(fp, "openai", openai_body(text="q1"), headers={"Authorization": "Bearer sk-x", "X-Custom": "1"})
    post(fp, "anthropic", anthropic_body(text="q2"), headers={"x-api-key": "sk-y"})
    first, second = fp.wait_for_requests(2)
    assert (first.api, first.path, first.method) == ("openai", OPENAI_PATH, "POST")
    assert first.headers["authorization"] == "Bearer sk-x" and first.headers["x-custom"] == "1"
    assert first.body == openai_body(text="q1") and first.last_user_text == "q1" and not first.stream
    assert (second.api, second.headers["x-api-key"], second.model) == ("anthropic", "sk-y", "claude-3-5-haiku-20241022")
    assert second.last_user_text == "q2"
    fp.clear()
    assert fp.requests == [] and fp.pending == 0


def test_invalid_json_is_a_provider_shaped_400(fp: FakeProvider) -> None:
    response = httpx.post(fp.base_url + ANTHROPIC_PATH, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"] == "error" and "invalid JSON" in response.json()["error"]["message"]


def test_concurrent_requests_each_get_one_reply(fp: FakeProvider) -> None:
    fp.script(*[Reply(text=f"r{i}", delay=0.01) for i in range(8)])
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        text = post(fp, "openai", openai_body()).json()["choices"][0]["message"]["content"]
        with lock:
            results.append(text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(results) == sorted(f"r{i}" for i in range(8))


# ---- faults ---------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [429, 500, 502, 503, 529, 401, 400])
def test_status_fault_shapes(fp: FakeProvider, code: int) -> None:
    fp.script(Reply(fault=Fault.status(code, retry_after=2)), Reply(fault=Fault.status(code, message="custom")))
    openai = post(fp, "openai", openai_body(stream=True))
    assert openai.status_code == code and openai.headers["retry-after"] == "2"
    error = openai.json()["error"]
    assert set(error) >= {"message", "type", "code"} and error["message"]
    anthropic = post(fp, "anthropic", anthropic_body(stream=True))
    assert anthropic.status_code == code and "retry-after" not in anthropic.headers
    body = anthropic.json()
    assert body["type"] == "error" and body["error"]["message"] == "custom"
    expected = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error",
                401: "authentication_error", 400: "invalid_request_error"}
    if code in expected:
        assert body["error"]["type"] == expected[code]


def test_status_fault_overrides_and_fractional_retry_after(fp: FakeProvider) -> None:
    fp.script(Reply(fault=Fault.status(429, "slow down", retry_after=1.5, error_type="tokens",
                                       error_code="rate_limit_exceeded", headers={"x-ratelimit-reset": "1s"})))
    response = post(fp, "openai", openai_body())
    assert response.headers["retry-after"] == "1.5" and response.headers["x-ratelimit-reset"] == "1s"
    assert response.json() == {"error": {"message": "slow down", "type": "tokens", "param": None,
                                         "code": "rate_limit_exceeded"}}


def test_preset_faults_per_api(fp: FakeProvider) -> None:
    fp.script(Reply(fault=Fault.context_too_long()), Reply(fault=Fault.context_too_long()),
              Reply(fault=Fault.spend_limit()), Reply(fault=Fault.spend_limit()),
              Reply(fault=Fault.auth()), Reply(fault=Fault.auth()))
    r = post(fp, "openai", openai_body())
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"
    assert "maximum context length" in r.json()["error"]["message"]
    r = post(fp, "anthropic", anthropic_body())
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("prompt is too long")
    r = post(fp, "openai", openai_body())
    assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"
    r = post(fp, "anthropic", anthropic_body())
    assert r.status_code == 400 and "credit balance is too low" in r.json()["error"]["message"]
    r = post(fp, "openai", openai_body())
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = post(fp, "anthropic", anthropic_body())
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


def test_a_fault_affects_only_its_own_reply(fp: FakeProvider) -> None:
    fp.script(Reply(fault=Fault.status(429, retry_after=1)), Reply(text="ok after retry"))
    assert post(fp, "openai", openai_body()).status_code == 429
    second = post(fp, "openai", openai_body())
    assert second.status_code == 200 and second.json()["choices"][0]["message"]["content"] == "ok after retry"
    assert len(fp.requests) == 2


def test_error_after_200_openai(fp: FakeProvider) -> None:
    fp.script(Reply(text="abcdefghijklmnop", fault=Fault.error_after_200(after_chunks=2)))
    text, error = read_stream_until_error(fp, "openai", openai_body(stream=True))
    assert error is None  # the HTTP stream itself ends cleanly
    events = parse_sse(text)
    assert len(events) == 3 and "[DONE]" not in text
    assert events[1][1]["choices"][0]["delta"]["content"] == "abcdefgh"
    assert events[2][1]["error"]["type"] == "server_error"


def test_error_after_200_anthropic(fp: FakeProvider) -> None:
    fp.script(Reply(text="abcdefghijklmnop", fault=Fault.error_after_200(after_chunks=4, message="busy")))
    text, error = read_stream_until_error(fp, "anthropic", anthropic_body(stream=True))
    assert error is None
    events = parse_sse(text)
    assert [e for e, _ in events] == ["message_start", "ping", "content_block_start", "content_block_delta", "error"]
    assert events[-1][1] == {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}


def test_cut_drops_mid_tool_arguments(fp: FakeProvider) -> None:
    # frames: role, tool-call start, argument pieces...: cut after the first argument piece
    fp.script(Reply(tool_calls=[ToolCall("write_file", {"path": "a.py", "content": "x" * 40})],
                    fault=Fault.cut(after_chunks=3)))
    text, error = read_stream_until_error(fp, "openai", openai_body(stream=True))
    assert isinstance(error, httpx.RemoteProtocolError)  # incomplete chunked body
    events = parse_sse(text)
    assert len(events) == 3 and "[DONE]" not in text
    partial = events[2][1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
    with pytest.raises(ValueError):
        json.loads(partial)
    fp.script(Reply(text="next is fine"))
    assert post(fp, "openai", openai_body()).json()["choices"][0]["message"]["content"] == "next is fine"


def test_stream_events_preview_matches_the_wire(fp: FakeProvider) -> None:
    reply = Reply(text="hello world", tool_calls=[ToolCall("ls", {"dir": "."})])
    preview = stream_events(reply, "anthropic")
    assert [e.split("\n")[0] for e in preview][:3] == ["event: message_start", "event: ping", "event: content_block_start"]
    fp.script(reply)
    served = parse_sse(post(fp, "anthropic", anthropic_body(stream=True)).text)
    assert [e for e, _ in served] == [e.split("\n")[0][len("event: "):] for e in preview]
    assert stream_events(reply, "openai")[-1] == "data: [DONE]\n\n"


def test_cut_anthropic_and_non_stream(fp: FakeProvider) -> None:
    fp.script(Reply(text="hello world", fault=Fault.cut(after_chunks=3)), Reply(text="x", fault=Fault.cut()))
    text, error = read_stream_until_error(fp, "anthropic", anthropic_body(stream=True))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert [e for e, _ in parse_sse(text)] == ["message_start", "ping", "content_block_start"]
    with pytest.raises(httpx.RemoteProtocolError):  # non-stream: half a JSON body, then FIN
        post(fp, "anthropic", anthropic_body())


def test_stall_pauses_then_continues(fp: FakeProvider) -> None:
    fp.script(Reply(text="abcdefghijklmnop", fault=Fault.stall(after_chunks=2, seconds=0.4)))
    stamps: list[float] = []
    started = time.perf_counter()
    with httpx.stream("POST", fp.base_url + OPENAI_PATH, json=openai_body(stream=True)) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                stamps.append(time.perf_counter() - started)
    assert len(stamps) == 5  # role, 2 text, finish, [DONE]
    assert stamps[1] < 0.3 and stamps[2] >= 0.4


def test_stall_trips_a_client_read_timeout(fp: FakeProvider) -> None:
    fp.script(Reply(text="abcdefghijklmnop", fault=Fault.stall(after_chunks=1, seconds=5)))
    started = time.perf_counter()
    text, error = read_stream_until_error(fp, "anthropic", anthropic_body(stream=True), timeout=0.3)
    assert isinstance(error, httpx.ReadTimeout) and time.perf_counter() - started < 2
    assert [e for e, _ in parse_sse(text)] == ["message_start"]


def test_reset_closes_without_a_response(fp: FakeProvider) -> None:
    fp.script(Reply(fault=Fault.reset()), Reply(text="after reset"))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        post(fp, "openai", openai_body())
    assert len(fp.requests) == 1  # the request was read and recorded before the reset
    assert post(fp, "openai", openai_body()).json()["choices"][0]["message"]["content"] == "after reset"


def test_hang_delays_headers(fp: FakeProvider) -> None:
    fp.script(Reply(text="late", fault=Fault.hang(5)), Reply(text="slow but ok", fault=Fault.hang(0.2)))
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        post(fp, "anthropic", anthropic_body(), timeout=0.3)
    assert time.perf_counter() - started < 1.5
    started = time.perf_counter()
    assert post(fp, "anthropic", anthropic_body()).json()["content"][0]["text"] == "slow but ok"
    assert time.perf_counter() - started >= 0.2


def test_error_after_200_non_stream(fp: FakeProvider) -> None:
    fp.script(Reply(text="x", fault=Fault.error_after_200()))
    response = post(fp, "openai", openai_body())
    assert response.status_code == 200 and response.json()["error"]["type"] == "server_error"


def test_http10_client_gets_an_unchunked_stream(fp: FakeProvider) -> None:
    fp.script(Reply(text="plain old http"))
    payload = json.dumps(openai_body(stream=True)).encode()
    with socket.create_connection(("127.0.0.1", fp.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
        raw = b""
        while chunk := sock.recv(65536):  # the server closes to mark the end
            raw += chunk
    head, _, body = raw.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200") and "chunked" not in head.lower()
    assert "connection: close" in head.lower()
    events = parse_sse(body)
    assert events[-1] == (None, "[DONE]")
    assert "".join(d["choices"][0]["delta"].get("content") or "" for _, d in events[:-1]) == "plain old http"


# ---- dict loading ---------------------------------------------------------------------------
def test_from_dict_round_trip_and_validation(tmp_path: Path) -> None:
    reply = Reply.from_dict({
        "text": "t", "thinking": "th", "usage": [3, 4], "finish_reason": "stop", "chunk_size": 2,
        "delay": 0.1, "tool_calls": [{"name": "ls", "arguments": {"dir": "."}, "id": "c1"}],
        "fault": {"kind": "status", "code": 429, "retry_after": 1}})
    assert reply == Reply(text="t", thinking="th", usage=(3, 4), finish_reason="stop", chunk_size=2, delay=0.1,
                          tool_calls=[ToolCall("ls", {"dir": "."}, "c1")], fault=Fault.status(429, retry_after=1))
    assert Fault.from_dict({"kind": "cut", "after_chunks": 3}) == Fault.cut(3)
    assert Fault.from_dict({"kind": "stall", "after_chunks": 1, "seconds": 2}) == Fault.stall(1, 2)
    assert Fault.from_dict({"kind": "spend_limit"}) == Fault.spend_limit()
    assert Fault.from_dict({"kind": "auth", "message": "m"}) == Fault("status", preset="auth", message="m")
    assert Fault.from_dict({"kind": "status", "preset": "auth"}) == Fault.auth()
    assert Fault.from_dict({"kind": "reset"}) == Fault.reset() and Fault.from_dict({"kind": "hang", "seconds": 1}) == Fault.hang(1)
    assert Reply.from_dict("plain") == Reply(text="plain")
    for bad in ({"txt": "typo"}, {"fault": {"kind": "explode"}}, {"fault": {"kind": "status"}},
                {"tool_calls": [{"arguments": {}}]}):
        with pytest.raises(ValueError):
            Reply.from_dict(bad)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(["a", {"text": "b"}]))
    assert load_script(path) == [Reply(text="a"), Reply(text="b")]


# ---- CLI -----------------------------------------------------------------------------------
def test_cli_serves_script_then_echo_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"text": "scripted", "tool_calls": [{"name": "ls", "arguments": {"dir": "."}}]},
        {"fault": {"kind": "status", "code": 429, "retry_after": 1}},
    ]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kode.testing.fake_provider", "--script", str(script), "--echo"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("http://127.0.0.1:")
        first = httpx.post(url + "/v1/chat/completions", json=openai_body(), timeout=5).json()
        assert first["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "ls"
        second = httpx.post(url + "/v1/messages", json=anthropic_body(), timeout=5)
        assert second.status_code == 429 and second.headers["retry-after"] == "1"
        third = httpx.post(url + "/v1/messages", json=anthropic_body(text="echo this"), timeout=5).json()
        assert third["content"][0]["text"] == "echo this"
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        assert proc.stdout.read() == ""  # type: ignore[union-attr]  # exactly one stdout line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.json"
    script.write_text(json.dumps([{"txt": "typo"}]))
    done = subprocess.run([sys.executable, "-m", "kode.testing.fake_provider", "--script", str(script)],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 2 and "txt" in done.stderr and done.stdout == ""
