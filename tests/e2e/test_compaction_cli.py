"""Context compaction through the real `kode ask`, the real litellm client and real HTTP.

A small `[context] window` makes a few long-ish `--continue` turns pass `compact_at`; the fake
provider plays both the main model and the summarizer (told apart by the model name litellm
sends), so the tests can check what was summarised, what the model was sent afterwards, and
that the provider's "context too long" error and a failing summarizer never leave a turn stuck.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kode.core.compaction import CHARS_PER_TOKEN, OVERFLOW_TARGET, estimate_tokens
from kode.testing.fake_provider import Fault, RecordedRequest, Reply, ToolCall

pytestmark = pytest.mark.e2e

MAIN = "gpt-4o-mini"  # what litellm sends for KODE_MODEL=openai/gpt-4o-mini (conftest)
SUMMARIZER = "some-summarizer"
SUMMARY = "SUMMARY-ZETA-42: the user is planning the frobnicator rewrite; nothing is open."
AGENTS_MARKER = "AGENTS-RULE-MARKER-5150"
COMPACT_AT = 0.8
CONVERSATION = 1600
"""Tokens of messages (system prompt included) a request may carry before `compact_at` is passed:
the window is this plus the tool schemas kode sends (which count against it), over `compact_at`."""


def ask(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kode", "ask", *args],
        env=env, cwd=cwd, input="", capture_output=True, text=True, timeout=180,
    )


def config(env: dict[str, str], text: str) -> None:
    path = Path(env["KODE_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def tool_tokens(request: RecordedRequest) -> int:
    """The request's tool schemas as kode counts them against the window (JSON / 4)."""
    tools = request.body.get("tools") if isinstance(request.body, dict) else None
    return len(json.dumps(tools, ensure_ascii=False)) // CHARS_PER_TOKEN if tools else 0


def sent_tokens(request: RecordedRequest) -> int:
    """What the request costs of the window, counted the way kode does: messages and tool schemas."""
    return estimate_tokens(request.messages) + tool_tokens(request)


def configure_window(provider, env: dict[str, str], workspace: Path, head: str, context: str) -> tuple[int, int]:
    """Write the config with a window that leaves CONVERSATION tokens for messages under
    `compact_at` once the tool schemas are counted; the schemas are measured on one real request
    with the same config, made in a directory of its own so that `--continue` in `workspace`
    never finds it (a saved session, as the test's: without a store the memory tools are not
    offered). Returns the window and the tool schemas' tokens."""
    config(env, head + "[context]\n" + context)
    elsewhere = workspace.parent / "probe"
    elsewhere.mkdir()
    probe = ask(["probe"], env, elsewhere)
    assert probe.returncode == 0, probe.stderr
    [request] = provider.requests
    tools = tool_tokens(request)
    assert tools > 0, "kode sends its tool schemas"
    provider.clear()
    window = int((CONVERSATION + tools) / COMPACT_AT)
    config(env, head + f"[context]\nwindow = {window}\n" + context)
    return window, tools


def filler(tag: str, chars: int) -> str:
    """Deterministic prose of about `chars` characters that contains no marker but its tag's."""
    words = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")
    out: list[str] = []
    i = 0
    while sum(len(w) + 1 for w in out) < chars:
        out.append(words[i % len(words)] + str(i % 7))
        i += 1
    return f"[{tag}] " + " ".join(out)


def marker(n: int) -> str:
    return f"TURN-MARKER-{n:02d}-QX"


def prompt(n: int, chars: int) -> str:
    return f"Question {marker(n)}: " + filler(f"q{n}", chars)


def answer_for(request: RecordedRequest, chars: int) -> Reply:
    """The main model's answer: names the marker of the question it answers, then prose."""
    asked = request.last_user_text
    found = next((marker(n) for n in range(1, 20) if marker(n) in asked), "NO-MARKER")
    return Reply(text=f"Answer about {found}. " + filler("a", chars))


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def text_of(request: RecordedRequest) -> str:
    return json.dumps(request.messages, ensure_ascii=False)


def main_requests(provider) -> list[RecordedRequest]:
    return [r for r in provider.requests if r.model == MAIN]


@pytest.fixture
def responder(provider) -> Iterator[Callable[[Callable[[RecordedRequest], Reply]], None]]:
    """Install a responder on the module's provider for one test, and always take it off again."""

    def install(fn: Callable[[RecordedRequest], Reply]) -> None:
        provider.responder = fn

    yield install
    provider.responder = None


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "AGENTS.md").write_text(f"# Rules\nAlways follow rule {AGENTS_MARKER}.\n")
    return ws


def test_long_conversation_compacts_automatically(provider, env, workspace, responder) -> None:
    models = f'[models]\nsummarizer = "openai/{SUMMARIZER}"\n'
    context = f"compact_at = {COMPACT_AT}\nkeep_turns = 2\nrepo_map_tokens = 0\n"
    window, tools = configure_window(provider, env, workspace, models, context)
    limit = window * COMPACT_AT
    responder(lambda r: Reply(text=SUMMARY) if r.model == SUMMARIZER else answer_for(r, 900))

    # Turns 1-3 (~490 tokens each, ~250 of system prompt) stay under CONVERSATION tokens of messages.
    for n in (1, 2, 3):
        result = ask(([] if n == 1 else ["--continue"]) + [prompt(n, 900)], env, workspace)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"Answer about {marker(n)}.")
    assert [r.model for r in provider.requests] == [MAIN] * 3, "no compaction before the threshold"
    assert marker(1) in text_of(provider.requests[2]), "the first turn is still sent verbatim"

    # Turn 4 would pass the threshold: it compacts first.
    result = ask(["--continue", "-o", "stream-json", prompt(4, 900)], env, workspace)
    assert result.returncode == 0, result.stderr
    lines = events(result.stdout)
    compacted = [e for e in lines if e["type"] == "context_compacted"]
    assert len(compacted) == 1, [e["type"] for e in lines]
    event = compacted[0]
    assert event["reason"] == "auto" and event["fallback"] is False
    assert SUMMARY in event["summary"]
    assert event["tokens_before"] > limit >= event["tokens_after"], event  # both count the tool schemas
    finished = [e for e in lines if e["type"] == "turn_finished"]
    assert finished[-1]["status"] == "completed"
    assert finished[-1]["result"].startswith(f"Answer about {marker(4)}.")

    requests = provider.requests
    assert [r.model for r in requests] == [MAIN, MAIN, MAIN, SUMMARIZER, MAIN]
    summarised = text_of(requests[3])
    assert marker(1) in summarised and marker(2) in summarised, "the old turns go to the summarizer"
    assert marker(3) not in summarised and marker(4) not in summarised, "the kept turns are not summarised"

    after = requests[4]
    sent = text_of(after)
    assert SUMMARY in after.messages[1]["content"], "the summary opens the conversation"
    assert marker(1) not in sent and "[q1]" not in sent, "the oldest turn is gone verbatim"
    assert marker(2) not in sent, "the second turn was summarised too (keep_turns = 2)"
    assert marker(3) in sent and marker(4) in sent, "the last keep_turns turns stay verbatim"
    assert after.messages[-1]["content"] == prompt(4, 900)
    assert after.messages[0]["role"] == "system" and AGENTS_MARKER in after.messages[0]["content"]

    # Turn 5, in a new process: the compaction was stored, so resume rebuilds the compacted context.
    result = ask(["--continue", prompt(5, 200)], env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Answer about {marker(5)}.")
    resumed = provider.requests[-1]
    assert resumed.model == MAIN
    assert SUMMARY in resumed.messages[1]["content"]
    assert marker(1) not in text_of(resumed) and marker(4) in text_of(resumed)
    assert AGENTS_MARKER in resumed.messages[0]["content"]

    assert {tool_tokens(r) for r in main_requests(provider)} == {tools}, "every main request has the measured schemas"
    for request in provider.requests:
        assert sent_tokens(request) <= window, (request.model, sent_tokens(request), window)
    for request in main_requests(provider):
        assert sent_tokens(request) <= limit, (sent_tokens(request), limit)
    assert provider.errors == []


def test_context_too_long_prunes_old_tool_output_and_retries_once(provider, env, workspace) -> None:
    """The window is litellm's (128k): kode thinks all is well, the provider disagrees.

    After the refusal kode aims at OVERFLOW_TARGET of the refused request, tool schemas included,
    and pruning alone is enough only when what is left fits well inside that: the file's output
    (~10k tokens) is what makes the request big, several times the tool schemas."""
    config(env, "[context]\nkeep_turns = 1\nrepo_map_tokens = 0\n[llm]\nmax_attempts = 1\n")
    (workspace / "big.txt").write_text("".join(f"line {i}: {filler(f'big{i}', 300)}\n" for i in range(120)))
    provider.script(
        Reply(text="Reading it.", tool_calls=[ToolCall("read_file", {"path": "big.txt"})]),
        Reply(text="It is a big file."),
    )
    first = ask(["what is in big.txt?"], env, workspace)
    assert first.returncode == 0, first.stderr
    assert "It is a big file." in first.stdout

    provider.script(Reply(fault=Fault.context_too_long()), Reply(text="Answered after compacting."))
    result = ask(["--continue", "-o", "stream-json", "and what does line 7 say?"], env, workspace)
    assert result.returncode == 0, result.stderr
    lines = events(result.stdout)
    compacted = [e for e in lines if e["type"] == "context_compacted"]
    assert [e["reason"] for e in compacted] == ["overflow"]
    event = compacted[0]
    assert event["summary"] == "", "pruning the old tool output was enough: nothing was summarised"
    assert event["tokens_after"] <= OVERFLOW_TARGET * event["tokens_before"], event
    finished = [e for e in lines if e["type"] == "turn_finished"]
    assert finished[-1]["status"] == "completed" and finished[-1]["result"] == "Answered after compacting."

    requests = provider.requests
    assert len(requests) == 4 and provider.pending == 0, "one failed request, then exactly one retry"
    failed, retried = requests[2], requests[3]
    assert retried.messages[-1]["content"] == "and what does line 7 say?"
    assert "line 100: [big100]" in text_of(failed)
    assert "line 100: [big100]" not in text_of(retried) and "[output pruned:" in text_of(retried)
    assert len(json.dumps(retried.body)) < len(json.dumps(failed.body))
    assert estimate_tokens(retried.messages) < estimate_tokens(failed.messages)
    assert tool_tokens(retried) == tool_tokens(failed) > 0, "the tool schemas are still sent"
    assert sent_tokens(retried) <= OVERFLOW_TARGET * sent_tokens(failed), (sent_tokens(retried), sent_tokens(failed))
    assert AGENTS_MARKER in retried.messages[0]["content"]


def test_context_too_long_without_tool_output_summarises_and_retries_smaller(
    provider, env, workspace, responder
) -> None:
    config(
        env,
        f'[models]\nsummarizer = "openai/{SUMMARIZER}"\n'
        "[context]\nkeep_turns = 1\nrepo_map_tokens = 0\n[llm]\nmax_attempts = 1\n",
    )
    responder(lambda r: Reply(text=SUMMARY) if r.model == SUMMARIZER else answer_for(r, 900))
    for n in (1, 2):
        result = ask(([] if n == 1 else ["--continue"]) + [prompt(n, 900)], env, workspace)
        assert result.returncode == 0, result.stderr

    provider.script(Reply(fault=Fault.context_too_long()))
    result = ask(["--continue", "-o", "stream-json", prompt(3, 200)], env, workspace)
    assert result.returncode == 0, result.stderr
    compacted = [e for e in events(result.stdout) if e["type"] == "context_compacted"]
    assert [e["reason"] for e in compacted] == ["overflow"]

    mains = main_requests(provider)
    failed, retried = mains[-2], mains[-1]
    assert failed.messages[-1]["content"] == retried.messages[-1]["content"] == prompt(3, 200)
    assert estimate_tokens(retried.messages) < estimate_tokens(failed.messages), (
        f"retried {estimate_tokens(retried.messages)} tokens after the provider refused "
        f"{estimate_tokens(failed.messages)}"
    )
    assert marker(1) not in text_of(retried) and SUMMARY in text_of(retried)
    assert [r.model for r in provider.requests].count(SUMMARIZER) == 1


def test_a_failing_summarizer_falls_back_to_dropping_old_turns(provider, env, workspace, responder) -> None:
    models = f'[models]\nsummarizer = "openai/{SUMMARIZER}"\n[llm]\nmax_attempts = 1\n'
    context = f"compact_at = {COMPACT_AT}\nkeep_turns = 1\nrepo_map_tokens = 0\n"
    window, tools = configure_window(provider, env, workspace, models, context)
    responder(lambda r: Reply(fault=Fault.status(500)) if r.model == SUMMARIZER else answer_for(r, 1200))
    for n in (1, 2):  # ~640 tokens a turn: the third request passes CONVERSATION
        result = ask(([] if n == 1 else ["--continue"]) + [prompt(n, 1200)], env, workspace)
        assert result.returncode == 0, result.stderr
    assert [r.model for r in provider.requests] == [MAIN, MAIN]

    result = ask(["--continue", prompt(3, 1200)], env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Answer about {marker(3)}.")
    assert result.stdout.rstrip("\n") == answer_for(provider.requests[-1], 1200).text

    requests = provider.requests
    assert [r.model for r in requests] == [MAIN, MAIN, SUMMARIZER, MAIN], "one summarizer try, no retries"
    assert {tool_tokens(r) for r in main_requests(provider)} == {tools}, "every main request has the measured schemas"
    after = requests[-1]
    sent = text_of(after)
    assert "could not be summarised" in after.messages[1]["content"]
    assert marker(1) not in sent and marker(2) not in sent, "the old turns were dropped"
    assert after.messages[-1]["content"] == prompt(3, 1200)
    assert AGENTS_MARKER in after.messages[0]["content"]
    assert sent_tokens(after) <= window * COMPACT_AT, (sent_tokens(after), window * COMPACT_AT)
