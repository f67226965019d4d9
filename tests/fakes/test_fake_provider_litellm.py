"""The real litellm client against the fake provider over real HTTP.

Two jobs: prove the fake speaks both wire formats well enough for litellm (text, thinking,
parallel tool calls reassembled from partial deltas, usage on the final chunk), and pin down
how litellm surfaces each injected fault -- exception class, status code, where Retry-After
is readable, how many HTTP requests it really made. kode's retry classification is written
against these facts; docs/fake-provider.md summarises them. If a litellm upgrade changes
one, the matching test here fails and names it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Iterator

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before the import: no network fetch

import litellm  # noqa: E402
import pytest  # noqa: E402
from litellm.exceptions import MidStreamFallbackError  # noqa: E402 - not re-exported as litellm.X

from kode.testing.fake_provider import FakeProvider, Fault, Reply, ToolCall  # noqa: E402

litellm.suppress_debug_info = True  # else litellm prints a "Provider List" banner to stdout

# One event loop for the module, as in kode: litellm caches its aiohttp sessions per loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

OPENAI_MODEL = "openai/gpt-4o-mini"
ANTHROPIC_MODEL = "anthropic/claude-3-5-haiku-20241022"
APIS = ["openai", "anthropic"]
NO_RETRIES = {"num_retries": 0, "max_retries": 0}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def fp(server: FakeProvider) -> FakeProvider:
    server.clear()
    server.responder = None
    return server


def target(fp: FakeProvider, api: str) -> dict[str, str]:
    if api == "openai":
        return {"model": OPENAI_MODEL, "api_base": fp.openai_base}
    return {"model": ANTHROPIC_MODEL, "api_base": fp.anthropic_base}


async def complete(fp: FakeProvider, api: str, *, stream: bool = True, **kw: Any) -> Any:
    """One litellm call the way kode makes it; returns the chunk list (stream) or the response."""
    args: dict[str, Any] = {**target(fp, api), "api_key": "sk-test", **NO_RETRIES,
                            "messages": [{"role": "user", "content": "hello"}], "stream": stream}
    if stream:
        args["stream_options"] = {"include_usage": True}
    args.update(kw)
    response = await litellm.acompletion(**args)
    if not stream:
        return response
    return [chunk async for chunk in response]


def assemble(chunks: list[Any]) -> dict[str, Any]:
    """Fold streamed deltas the way a client must: text, thinking, tool calls by index."""
    text, thinking, finish, usage = "", "", None, None
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        usage = getattr(chunk, "usage", None) or usage
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            thinking += getattr(delta, "reasoning_content", None) or ""
            for tc in delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                slot["name"] = tc.function.name or slot["name"]
                slot["arguments"] += tc.function.arguments or ""
            finish = choice.finish_reason or finish
    return {"text": text, "thinking": thinking, "finish": finish, "usage": usage,
            "calls": [calls[i] for i in sorted(calls)]}


# ---- the happy paths --------------------------------------------------------------------------
@pytest.mark.parametrize("api", APIS)
async def test_stream_text_and_usage_on_final_chunk(fp: FakeProvider, api: str) -> None:
    fp.script(Reply(text="The quick brown fox jumps.", usage=(321, 54)))
    chunks = await complete(fp, api)
    out = assemble(chunks)
    assert out["text"] == "The quick brown fox jumps." and out["finish"] == "stop"
    final = getattr(chunks[-1], "usage", None)
    assert final is not None and (final.prompt_tokens, final.completion_tokens) == (321, 54)
    request = fp.requests[0]
    assert request.stream and request.api == api
    if api == "openai":
        assert request.headers["authorization"] == "Bearer sk-test"
        assert request.body["stream_options"] == {"include_usage": True}  # litellm passes it through
    else:
        assert request.headers["x-api-key"] == "sk-test" and "anthropic-version" in request.headers
        assert "stream_options" not in request.body and request.body["max_tokens"] > 0


@pytest.mark.parametrize("api", APIS)
async def test_without_include_usage_no_chunk_carries_usage(fp: FakeProvider, api: str) -> None:
    """kode must pass stream_options={"include_usage": True}: without it litellm exposes no usage."""
    fp.script(Reply(text="counted?", usage=(111, 22)))
    chunks = await complete(fp, api, stream_options=None)
    assert assemble(chunks)["text"] == "counted?"
    assert all(getattr(c, "usage", None) is None for c in chunks)
    assert "stream_options" not in fp.requests[0].body


@pytest.mark.parametrize("api", APIS)
async def test_stream_thinking(fp: FakeProvider, api: str) -> None:
    fp.script(Reply(thinking="First, consider the fox.", text="Answer."))
    chunks = await complete(fp, api)
    out = assemble(chunks)
    assert out["thinking"] == "First, consider the fox." and out["text"] == "Answer."
    if api == "anthropic":  # the signature survives, as a thinking block, for the next turn
        blocks = [b for c in chunks for ch in c.choices for b in (getattr(ch.delta, "thinking_blocks", None) or [])]
        assert any(b.get("signature") for b in blocks)


@pytest.mark.parametrize("api", APIS)
async def test_stream_parallel_tool_calls_reassembled(fp: FakeProvider, api: str) -> None:
    calls = [ToolCall("read_file", {"path": "src/kode/app.py", "offset": 10}),
             ToolCall("grep", {"pattern": "def main", "path": "."}),
             ToolCall("bash", {"command": "echo 'héllo'"}, id="custom_id_1")]
    fp.script(Reply(text="Let me look.", tool_calls=calls, chunk_size=5))
    out = assemble(await complete(fp, api))
    assert out["text"] == "Let me look." and out["finish"] == "tool_calls"
    assert [c["name"] for c in out["calls"]] == ["read_file", "grep", "bash"]
    assert [json.loads(c["arguments"]) for c in out["calls"]] == [c.arguments for c in calls]
    ids = [c["id"] for c in out["calls"]]
    assert len(set(ids)) == 3 and ids[2] == "custom_id_1"


@pytest.mark.parametrize("api", APIS)
async def test_stream_chunk_builder_rebuilds_the_message(fp: FakeProvider, api: str) -> None:
    fp.script(Reply(text="ok", tool_calls=[ToolCall("ls", {"dir": "src"})], usage=(9, 3)))
    chunks = await complete(fp, api)
    message = litellm.stream_chunk_builder(chunks)
    assert message.choices[0].message.tool_calls[0].function.name == "ls"
    assert json.loads(message.choices[0].message.tool_calls[0].function.arguments) == {"dir": "src"}
    assert (message.usage.prompt_tokens, message.usage.completion_tokens) == (9, 3)


@pytest.mark.parametrize("api", APIS)
async def test_non_stream(fp: FakeProvider, api: str) -> None:
    fp.script(Reply(text="Sure.", thinking="easy", tool_calls=[ToolCall("ls", {"dir": "."})], usage=(5, 6)))
    response = await complete(fp, api, stream=False)
    message = response.choices[0].message
    assert message.content == "Sure." and message.reasoning_content == "easy"
    assert json.loads(message.tool_calls[0].function.arguments) == {"dir": "."}
    assert response.choices[0].finish_reason == "tool_calls"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (5, 6)
    assert not fp.requests[0].stream


# ---- HTTP status faults -----------------------------------------------------------------------
STATUS_CASES = [
    # (fault, api, exception class, exc.status_code)
    (Fault.status(429, retry_after=1), "openai", litellm.RateLimitError, 429),
    (Fault.status(429, retry_after=1), "anthropic", litellm.RateLimitError, 429),
    (Fault.status(500), "openai", litellm.InternalServerError, 500),
    (Fault.status(500), "anthropic", litellm.InternalServerError, 500),
    (Fault.status(502), "openai", litellm.BadGatewayError, 502),
    (Fault.status(502), "anthropic", litellm.BadGatewayError, 502),
    (Fault.status(503, retry_after=2), "openai", litellm.ServiceUnavailableError, 503),
    (Fault.status(503, retry_after=2), "anthropic", litellm.ServiceUnavailableError, 503),
    (Fault.status(529), "openai", litellm.APIError, 529),
    # Anthropic's 529 overloaded becomes a *500* InternalServerError; only the message says "overloaded_error".
    (Fault.status(529), "anthropic", litellm.InternalServerError, 500),
    (Fault.auth(), "openai", litellm.AuthenticationError, 401),
    (Fault.auth(), "anthropic", litellm.AuthenticationError, 401),
    (Fault.status(400), "openai", litellm.BadRequestError, 400),
    (Fault.status(400), "anthropic", litellm.BadRequestError, 400),
    (Fault.context_too_long(), "openai", litellm.ContextWindowExceededError, 400),
    (Fault.context_too_long(), "anthropic", litellm.ContextWindowExceededError, 400),
    (Fault.spend_limit(), "openai", litellm.RateLimitError, 429),
    (Fault.spend_limit(), "anthropic", litellm.BadRequestError, 400),
]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "nonstream"])
@pytest.mark.parametrize(("fault", "api", "exc_class", "status"), STATUS_CASES,
                         ids=[f"{c[1]}-{c[0].code or c[0].preset}" for c in STATUS_CASES])
async def test_status_faults_surface_as(fp: FakeProvider, fault: Fault, api: str, exc_class: type,
                                       status: int, stream: bool) -> None:
    fp.script(Reply(text="never", fault=fault), Reply(text="recovered"))
    with pytest.raises(Exception) as info:  # noqa: PT011 - the exact class is asserted below
        await complete(fp, api, stream=stream)
    exc = info.value
    assert type(exc) is exc_class, f"{type(exc).__name__}: {exc}"
    assert exc.status_code == status
    assert len(fp.requests) == 1, "num_retries=0/max_retries=0 must mean exactly one request"
    # Retry-After is only on litellm_response_headers (httpx.Headers); exc.response.headers is empty.
    headers = exc.litellm_response_headers
    expected_retry_after = None if fault.retry_after is None else str(int(fault.retry_after))
    assert headers.get("retry-after") == expected_retry_after
    if getattr(exc, "response", None) is not None:
        assert "retry-after" not in exc.response.headers
    if fault.code == 529 and api == "anthropic":
        assert "overloaded_error" in str(exc)
    if fault.preset == "spend_limit":
        if api == "openai":  # only exc.body tells a spent quota from a rate limit
            assert exc.body["code"] == "insufficient_quota"
        else:
            assert "credit balance is too low" in str(exc)
    # the fault was one reply only: the next call completes
    out = assemble(await complete(fp, api))
    assert out["text"] == "recovered"


# ---- retries: which kwargs give exactly one request ------------------------------------------
@pytest.mark.parametrize(("kwargs", "openai_requests"), [
    ({}, 3),                                  # openai SDK default max_retries=2
    ({"max_retries": 0}, 1),
    ({"num_retries": 0}, 1),                  # litellm copies num_retries into the SDK's max_retries
    ({"num_retries": 0, "max_retries": 0}, 1),
], ids=["defaults", "max_retries0", "num_retries0", "both0"])
@pytest.mark.parametrize("api", APIS)
async def test_sdk_retries_per_kwargs(fp: FakeProvider, api: str, kwargs: dict[str, int],
                                      openai_requests: int) -> None:
    # retry-after-ms keeps the SDK's own back-off short when it does retry
    fp.responder = lambda request: Reply(fault=Fault.status(429, headers={"retry-after-ms": "5"}))
    args = {**target(fp, api), "api_key": "sk-test", "messages": [{"role": "user", "content": "x"}], **kwargs}
    with pytest.raises(litellm.RateLimitError):
        await litellm.acompletion(**args)
    assert len(fp.requests) == (openai_requests if api == "openai" else 1)


# ---- faults after the 200 ---------------------------------------------------------------------
async def collect_until_error(fp: FakeProvider, api: str, **kw: Any) -> tuple[list[Any], BaseException]:
    chunks: list[Any] = []
    args: dict[str, Any] = {**target(fp, api), "api_key": "sk-test", **NO_RETRIES, "stream": True,
                            "stream_options": {"include_usage": True},
                            "messages": [{"role": "user", "content": "hello"}], **kw}
    try:
        async for chunk in await litellm.acompletion(**args):
            chunks.append(chunk)
    except Exception as exc:  # noqa: BLE001 - the point is to look at it
        return chunks, exc
    raise AssertionError(f"stream ended without an error: {assemble(chunks)}")


@pytest.mark.parametrize(("api", "after", "original"), [
    ("openai", 2, litellm.APIConnectionError),
    ("anthropic", 4, litellm.InternalServerError),
])
async def test_error_after_200_is_a_midstream_fallback_error(fp: FakeProvider, api: str, after: int,
                                                            original: type) -> None:
    fp.script(Reply(text="partial answer", chunk_size=8, fault=Fault.error_after_200(after, message="boom")))
    chunks, exc = await collect_until_error(fp, api)
    assert type(exc) is MidStreamFallbackError and isinstance(exc, litellm.ServiceUnavailableError)
    assert exc.status_code == 500 and exc.is_pre_first_chunk is False
    assert exc.generated_content == "partial " and assemble(chunks)["text"] == "partial "
    assert type(exc.original_exception) is original and "boom" in str(exc)
    assert len(fp.requests) == 1


@pytest.mark.parametrize(("api", "after"), [("openai", 4), ("anthropic", 8)])
async def test_cut_mid_tool_arguments_raises(fp: FakeProvider, api: str, after: int) -> None:
    # openai frames: role, text, tool start, args...; anthropic: start, ping, text block (3), tool start, "", args...
    fp.script(Reply(text="Writing", tool_calls=[ToolCall("write_file", {"path": "a.py", "content": "x" * 50})],
                    fault=Fault.cut(after_chunks=after)))
    chunks, exc = await collect_until_error(fp, api)
    assert type(exc) is MidStreamFallbackError
    assert type(exc.original_exception) is litellm.APIConnectionError
    assert exc.generated_content == "Writing" and exc.status_code == 500
    partial = assemble(chunks)["calls"][0]["arguments"]
    assert partial and not partial.endswith("}")


async def test_openai_cut_after_finish_reason_goes_unnoticed(fp: FakeProvider) -> None:
    """Dropping only the usage chunk and [DONE] is *not* an error for litellm: the stream just ends."""
    fp.script(Reply(text="hi", fault=Fault.cut(after_chunks=3)))  # role, "hi", finish | usage, [DONE]
    chunks = await complete(fp, "openai")
    assert assemble(chunks)["text"] == "hi" and assemble(chunks)["finish"] == "stop"


@pytest.mark.parametrize("api", APIS)
async def test_stall_trips_the_timeout(fp: FakeProvider, api: str) -> None:
    fp.script(Reply(text="slow", fault=Fault.stall(after_chunks=3, seconds=10)))
    started = time.perf_counter()
    _, exc = await collect_until_error(fp, api, timeout=0.5)
    assert time.perf_counter() - started < 3
    assert type(exc) is MidStreamFallbackError
    assert type(exc.original_exception) is litellm.APIConnectionError
    assert "Timeout on reading data from socket" in str(exc)


@pytest.mark.parametrize("api", APIS)
async def test_hang_is_a_timeout(fp: FakeProvider, api: str) -> None:
    fp.script(Reply(text="late", fault=Fault.hang(10)))
    started = time.perf_counter()
    with pytest.raises(litellm.Timeout) as info:
        await complete(fp, api, timeout=0.5)
    assert time.perf_counter() - started < 3
    assert info.value.status_code == 408 and len(fp.requests) == 1


async def test_reset_openai_is_a_connection_error_500(fp: FakeProvider) -> None:
    fp.script(Reply(fault=Fault.reset()), Reply(text="unused"))
    with pytest.raises(litellm.InternalServerError) as info:
        await complete(fp, "openai")
    assert info.value.status_code == 500 and "Connection error" in str(info.value)
    assert len(fp.requests) == 1 and fp.pending == 1


async def test_reset_anthropic_is_retried_once_behind_your_back(fp: FakeProvider) -> None:
    """litellm's Anthropic HTTP handler reconnects once on a connect/protocol error, whatever
    num_retries says. Streaming, it closes the retry's client before the body is read, so the
    call fails with "Connection closed" -- unless the whole retried body already arrived (a race:
    a short instant reply sometimes gets through). Either way the next scripted reply is used up."""
    # delay makes the retried stream outlast the client, so the failure is deterministic
    fp.script(Reply(fault=Fault.reset()), Reply(text="second", delay=0.02), Reply(text="third"))
    _, exc = await collect_until_error(fp, "anthropic")
    assert "Connection closed" in str(exc)
    assert type(exc) is MidStreamFallbackError and exc.is_pre_first_chunk is True
    assert len(fp.requests) == 2 and fp.pending == 1
    fp.clear()
    fp.script(Reply(fault=Fault.reset()), Reply(text="second"))
    response = await complete(fp, "anthropic", stream=False)  # non-streaming: the retry succeeds silently
    assert response.choices[0].message.content == "second" and len(fp.requests) == 2


# ---- cost ---------------------------------------------------------------------------------------
async def test_cost_lookup_with_local_map(fp: FakeProvider) -> None:
    prompt_cost, completion_cost = litellm.cost_per_token(model=OPENAI_MODEL, prompt_tokens=1000,
                                                          completion_tokens=1000)
    assert prompt_cost == pytest.approx(0.00015) and completion_cost == pytest.approx(0.0006)
    fp.script(Reply(text="priced", usage=(1000, 1000)))
    response = litellm.stream_chunk_builder(await complete(fp, "openai"))
    assert litellm.completion_cost(completion_response=response) == pytest.approx(0.00075)
    # claude-3-5-haiku-20241022 is not in this litellm's local map (see docs); a current Claude is.
    assert litellm.cost_per_token(model="anthropic/claude-haiku-4-5-20251001", prompt_tokens=1000,
                                  completion_tokens=1000) == pytest.approx((0.001, 0.005))


async def test_exception_hierarchy_facts_kode_relies_on() -> None:  # async: the module is marked asyncio
    import openai

    assert issubclass(litellm.ContextWindowExceededError, litellm.BadRequestError)  # check it first
    assert issubclass(MidStreamFallbackError, litellm.ServiceUnavailableError)
    assert not issubclass(litellm.RateLimitError, litellm.APIError)  # litellm.APIError is no base class
    assert not issubclass(litellm.Timeout, litellm.APIConnectionError)
    assert issubclass(litellm.Timeout, openai.APIConnectionError)
    for cls in (litellm.RateLimitError, litellm.Timeout, MidStreamFallbackError, litellm.APIError):
        assert issubclass(cls, openai.APIError)
