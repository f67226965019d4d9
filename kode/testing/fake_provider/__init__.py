"""A fake LLM provider: a real HTTP server speaking OpenAI chat-completions and Anthropic messages.

Why a real server instead of mocking litellm: the retry, streaming and error-classification
code we need to test lives in the HTTP client stack (openai SDK, litellm's Anthropic handler,
httpx/aiohttp). Only bytes on a socket exercise it honestly, and only a server lets the real
``kode`` binary (a subprocess) be tested end to end.

    from kode.testing.fake_provider import FakeProvider, Reply, ToolCall, Fault

    with FakeProvider() as fp:
        fp.script(Reply(text="Let me look.", tool_calls=[ToolCall("read_file", {"path": "a.py"})]),
                  Reply(fault=Fault.status(429, retry_after=1)),
                  Reply(text="Done."))
        litellm.completion("openai/gpt-4o-mini", api_base=fp.openai_base, ...)
        litellm.completion("anthropic/claude-3-5-haiku-20241022", api_base=fp.anthropic_base, ...)
        assert fp.requests[0].body["messages"]

CLI: ``python -m kode.testing.fake_provider [--port 0] [--script FILE.json] [--echo]``.
Litellm's observed behaviour against each fault is documented in docs/fake-provider.md.
"""

from .model import Fault, RecordedRequest, Reply, ToolCall, load_script
from .preview import stream_events
from .server import FakeProvider

__all__ = ["FakeProvider", "Fault", "RecordedRequest", "Reply", "ToolCall", "load_script", "stream_events"]
