"""`kode acp` as an editor runs it: a real subprocess on real pipes, driven by the `acp` package's
own client side (what Zed-like clients speak), against the fake provider on 127.0.0.1, with its
own config and data dirs. Plus the pure pieces (diffs, prompts, stop reasons) on their own."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process, text_block
from acp.schema import (
    AllowedOutcome,
    DeniedOutcome,
    EmbeddedResourceContentBlock,
    PermissionOption,
    RequestPermissionResponse,
    ResourceContentBlock,
    TextResourceContents,
    ToolCallUpdate,
)

from kode.acp.content import diff_contents
from kode.acp.prompt import prompt_text
from kode.acp.turns import stop_reason
from kode.acp.updates import UpdateTranslator
from kode.protocol.common import ErrorInfo, ErrorKind, TurnStatus
from kode.protocol.events import MessageCompleted, TextDelta, TurnFinished, UserMessage
from kode.testing.fake_provider import FakeProvider, Fault, RecordedRequest, Reply, ToolCall
from kode.tools.diffs import unified_diff

MODEL = "openai/gpt-4o-mini"
STEP = 30.0
"""Seconds any one protocol exchange may take (the first model call imports litellm)."""


def is_title_request(request: RecordedRequest) -> bool:
    messages = request.body.get("messages") or [{}]
    return str(messages[0].get("content", "")).startswith("Write a title")


class Script:
    """Replies for the turns, in order; the background title request is answered on the side,
    so it can never take a reply meant for a turn (whenever it happens to arrive)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def __call__(self, request: RecordedRequest) -> Reply:
        if is_title_request(request):
            return Reply(text="Scripted title")
        with self._lock:
            return self._replies.popleft() if self._replies else Reply(text="(unscripted)")

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def provider(script: Script):
    with FakeProvider(responder=script) as fp:
        yield fp


def turn_requests(provider: FakeProvider) -> list[RecordedRequest]:
    return [request for request in provider.requests if not is_title_request(request)]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "app.py").write_text("print('hi')\n")
    return ws


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("KODE_")}
    clean.update(
        HOME=str(home),
        KODE_CONFIG_DIR=str(home / "config"),
        KODE_DATA_DIR=str(home / "data"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        OPENAI_API_KEY="sk-test",
    )
    return clean


@dataclass
class RecordingClient:
    """The editor: records every update and permission request, answers permissions by script."""

    answers: deque[str] = field(default_factory=deque)
    """Option ids to pick, in order ("cancelled" answers with the cancelled outcome)."""
    updates: list[tuple[str, Any]] = field(default_factory=list)
    permissions: list[tuple[ToolCallUpdate, list[PermissionOption]]] = field(default_factory=list)
    hold_permissions: asyncio.Event | None = None
    """When set, permission requests wait for it (to cancel while the user is being asked)."""
    on_update: Callable[[Any], None] | None = None
    timeline: list[tuple[str, str]] = field(default_factory=list)
    """(what arrived, its tool call id) in arrival order, updates and permission requests alike."""

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append((session_id, update))
        self.timeline.append((update.session_update, getattr(update, "tool_call_id", "")))
        if self.on_update is not None:
            self.on_update(update)

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption], **_: Any
    ) -> RequestPermissionResponse:
        self.permissions.append((tool_call, options))
        self.timeline.append(("request_permission", tool_call.tool_call_id))
        if self.hold_permissions is not None:
            await self.hold_permissions.wait()
        choice = self.answers.popleft() if self.answers else "deny"
        if choice == "cancelled":
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=choice))

    def of(self, kind: str, session_id: str | None = None) -> list[Any]:
        return [u for sid, u in self.updates if u.session_update == kind and (session_id is None or sid == session_id)]

    def text(self, kind: str = "agent_message_chunk", session_id: str | None = None) -> str:
        return "".join(u.content.text for u in self.of(kind, session_id))

    def calls(self, tool_call_id: str) -> list[Any]:
        return [u for u in self.of("tool_call_update") if u.tool_call_id == tool_call_id]

    def clear(self) -> None:
        self.updates.clear()
        self.permissions.clear()
        self.timeline.clear()


@asynccontextmanager
async def run_agent_process(
    provider: FakeProvider, env: dict[str, str], cwd: Path, client: RecordingClient, *args: str
) -> AsyncIterator[tuple[Any, Any]]:
    """`python -m kode.cli.acp_cmd` with the client connected and initialized; on exit, stdin is
    closed and the process must leave by itself with 0 (stderr is shown when it does not)."""
    stderr_path = cwd.parent / "agent-stderr.log"
    with stderr_path.open("wb") as stderr:
        command = [sys.executable, "-m", "kode.cli.acp_cmd", "--model", MODEL, "--api-base", provider.openai_base, *args]
        async with spawn_agent_process(
            client,
            *command,
            env=env,
            cwd=cwd,
            transport_kwargs={"stderr": stderr, "limit": 16 * 1024 * 1024, "shutdown_timeout": 20.0},
        ) as (conn, process):
            try:
                init = await asyncio.wait_for(conn.initialize(protocol_version=PROTOCOL_VERSION), STEP)
                assert init.agent_capabilities.load_session is True
                yield conn, process
            except BaseException:
                sys.stderr.write(f"--- agent stderr ---\n{stderr_path.read_text(errors='replace')}\n")
                raise
        log = stderr_path.read_text(errors="replace")
        assert process.returncode == 0, f"agent exited {process.returncode}:\n{log}"


async def step(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, STEP)


def say(text: str) -> list[Any]:
    return [text_block(text)]


def write(path: str, content: str) -> ToolCall:
    return ToolCall("write_file", {"path": path, "content": content})


# -- a full turn -------------------------------------------------------------------------------------


async def test_prompt_asks_permission_writes_the_file_and_streams_the_turn(provider, script, env, workspace) -> None:
    script.add(
        Reply(text="I'll create the notes file.", tool_calls=[write("notes.txt", "hello\nworld\n")]),
        Reply(text="Created notes.txt with two lines."),
    )
    client = RecordingClient(answers=deque(["allow_once"]))
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        new = await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))
        assert new.session_id.startswith("ses_") and new.modes.current_mode_id == "default"
        assert [mode.id for mode in new.modes.available_modes] == ["default", "accept-edits", "plan", "bypass"]
        response = await step(conn.prompt(session_id=new.session_id, prompt=say("write notes.txt")))

    assert response.stop_reason == "end_turn"
    assert (workspace / "notes.txt").read_text() == "hello\nworld\n"
    assert client.text(session_id=new.session_id) == "I'll create the notes file.Created notes.txt with two lines."
    assert client.of("user_message_chunk") == []  # the editor shows its own prompt

    [start] = client.of("tool_call")
    call_id = start.tool_call_id
    assert (start.kind, start.status, start.title) == ("edit", "pending", "Write notes.txt")
    assert start.locations[0].path == str(workspace / "notes.txt")
    assert start.raw_input == {"path": "notes.txt", "content": "hello\nworld\n"}

    [(asked, options)] = client.permissions
    assert asked.tool_call_id == call_id and asked.kind == "edit"
    assert [(o.option_id, o.kind) for o in options] == [
        ("allow_once", "allow_once"), ("allow_session", "allow_always"), ("deny", "reject_once")
    ]
    [proposed] = asked.content
    assert (proposed.type, proposed.path, proposed.old_text, proposed.new_text) == (
        "diff", str(workspace / "notes.txt"), None, "hello\nworld\n"
    )

    updates = client.calls(call_id)
    assert [u.status for u in updates if u.status] == ["in_progress", "completed"]
    done = updates[-1]
    assert done.content[0].type == "diff" and done.content[0].new_text == "hello\nworld\n"
    assert "Created notes.txt" in done.content[1].content.text
    # the card exists before the question, and the question comes before the call runs
    order = [entry for entry in client.timeline if entry[1] == call_id]
    assert order[:2] == [("tool_call", call_id), ("request_permission", call_id)]

    first, second = turn_requests(provider)
    assert first.body["messages"][-1] == {"role": "user", "content": "write notes.txt"}
    tool_result = second.body["messages"][-1]
    assert tool_result["role"] == "tool" and "Created notes.txt" in tool_result["content"]


async def test_a_denied_call_is_not_run_and_the_model_is_told(provider, script, env, workspace) -> None:
    script.add(
        Reply(tool_calls=[write("secret.txt", "x\n")]),
        Reply(text="Understood, I will not write it."),
    )
    client = RecordingClient(answers=deque(["deny"]))
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        new = await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))
        response = await step(conn.prompt(session_id=new.session_id, prompt=say("write secret.txt")))

    assert response.stop_reason == "end_turn"
    assert not (workspace / "secret.txt").exists()
    [start] = client.of("tool_call")
    final = client.calls(start.tool_call_id)[-1]
    assert final.status == "failed" and "Permission denied" in final.content[0].content.text
    assert "in_progress" not in [u.status for u in client.calls(start.tool_call_id)]
    told = turn_requests(provider)[1].body["messages"][-1]
    assert told["role"] == "tool" and "denied" in told["content"].lower()
    assert client.text() == "Understood, I will not write it."


async def test_always_allow_and_modes_apply_to_the_rest_of_the_session(provider, script, env, workspace) -> None:
    script.add(
        Reply(tool_calls=[write("a.txt", "a\n")]), Reply(text="Wrote a."),
        Reply(tool_calls=[write("a.txt", "a2\n")]), Reply(text="Rewrote a."),
        Reply(tool_calls=[write("c.txt", "c\n")]), Reply(text="Could not write c."),
    )
    client = RecordingClient(answers=deque(["allow_session"]))
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        sid = (await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))).session_id
        assert (await step(conn.prompt(session_id=sid, prompt=say("write a")))).stop_reason == "end_turn"
        assert (await step(conn.prompt(session_id=sid, prompt=say("rewrite a")))).stop_reason == "end_turn"
        assert len(client.permissions) == 1  # "always" covered the second write of the file
        assert client.permissions[0][1][1].name == "Always allow edit(a.txt) in this session"
        with pytest.raises(RequestError) as bad:
            await step(conn.set_session_mode(session_id=sid, mode_id="yolo"))
        assert "unknown mode 'yolo'" in str(bad.value)
        await step(conn.set_session_mode(session_id=sid, mode_id="plan"))
        assert (await step(conn.prompt(session_id=sid, prompt=say("write c")))).stop_reason == "end_turn"

    assert (workspace / "a.txt").read_text() == "a2\n"
    assert not (workspace / "c.txt").exists()  # plan mode is read-only, nobody was asked
    assert len(client.permissions) == 1
    denied = client.calls(client.of("tool_call")[-1].tool_call_id)[-1]
    assert denied.status == "failed" and "Plan mode is read-only" in denied.content[0].content.text


async def test_shell_output_and_thinking_stream_in_bypass_mode(provider, script, env, workspace) -> None:
    command = "echo first; sleep 0.3; echo second"
    script.add(
        Reply(thinking="The user wants output.", tool_calls=[ToolCall("bash", {"command": command})]),
        Reply(text="It printed two lines."),
    )
    client = RecordingClient()
    async with run_agent_process(provider, env, workspace, client, "--permission-mode", "bypass") as (conn, _):
        new = await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))
        assert new.modes.current_mode_id == "bypass"
        response = await step(conn.prompt(session_id=new.session_id, prompt=say("run it")))

    assert response.stop_reason == "end_turn" and client.permissions == []
    assert client.text("agent_thought_chunk") == "The user wants output."
    [start] = client.of("tool_call")
    assert (start.kind, start.title) == ("execute", f"Run `{command}`")
    updates = client.calls(start.tool_call_id)
    streamed = [u.content[0].content.text for u in updates if u.content and u.status is None]
    assert streamed and "first" in streamed[0]  # output arrives while the command runs
    final = updates[-1]
    assert final.status == "completed" and final.raw_output["exit_code"] == 0
    assert final.content[0].content.text.startswith("```\nfirst\nsecond")


# -- cancelling --------------------------------------------------------------------------------------


async def test_cancel_mid_stream_answers_cancelled_and_the_session_goes_on(provider, script, env, workspace) -> None:
    script.add(
        Reply(text="Let me think about this at some length, " * 4, fault=Fault.stall(after_chunks=4, seconds=60)),
        Reply(text="Fresh answer."),
    )
    streaming = asyncio.Event()
    client = RecordingClient(on_update=lambda u: streaming.set() if u.session_update == "agent_message_chunk" else None)
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        sid = (await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))).session_id
        turn = asyncio.create_task(conn.prompt(session_id=sid, prompt=say("explain")))
        await step(streaming.wait())
        await conn.cancel(session_id=sid)
        assert (await step(turn)).stop_reason == "cancelled"
        partial = client.text()
        assert partial and ("Let me think about this at some length, " * 4).startswith(partial)
        client.clear()
        again = await step(conn.prompt(session_id=sid, prompt=say("again")))

    assert again.stop_reason == "end_turn" and client.text() == "Fresh answer."
    messages = turn_requests(provider)[-1].body["messages"]
    assert messages[-1] == {"role": "user", "content": "again"}
    assert any(m["role"] == "assistant" and str(m.get("content") or "").startswith("Let me") for m in messages)


async def test_cancel_while_the_user_is_asked_runs_nothing(provider, script, env, workspace) -> None:
    script.add(Reply(tool_calls=[write("never.txt", "no\n")]))
    hold = asyncio.Event()
    client = RecordingClient(answers=deque(["cancelled"]), hold_permissions=hold)
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        sid = (await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))).session_id
        turn = asyncio.create_task(conn.prompt(session_id=sid, prompt=say("write never.txt")))
        while not client.permissions:
            await step(asyncio.sleep(0.05))
        await conn.cancel(session_id=sid)
        hold.set()  # the editor answers the open question with "cancelled", as ACP asks
        assert (await step(turn)).stop_reason == "cancelled"

    assert not (workspace / "never.txt").exists()
    [start] = client.of("tool_call")
    assert client.calls(start.tool_call_id)[-1].status == "failed"
    assert len(turn_requests(provider)) == 1  # the model was not called again


async def test_closing_stdin_mid_turn_stops_it_and_exits_0(provider, script, env, workspace) -> None:
    script.add(Reply(text="Starting a long answer, " * 4, fault=Fault.stall(after_chunks=4, seconds=60)))
    streaming = asyncio.Event()
    client = RecordingClient(on_update=lambda u: streaming.set() if u.session_update == "agent_message_chunk" else None)
    started = 0.0
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        sid = (await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))).session_id
        turn = asyncio.create_task(conn.prompt(session_id=sid, prompt=say("go")))
        await step(streaming.wait())
        started = asyncio.get_running_loop().time()
    # leaving the block closed stdin; the harness asserted exit status 0
    assert asyncio.get_running_loop().time() - started < 15
    with pytest.raises((ConnectionError, asyncio.CancelledError)):
        await turn

    script.add(Reply(text="Resumed."))
    again = RecordingClient()
    async with run_agent_process(provider, env, workspace, again) as (conn, _):
        await step(conn.load_session(cwd=str(workspace), session_id=sid, mcp_servers=[]))
        assert again.text().startswith("Starting a long answer")  # what the user saw was kept
        again.clear()
        assert (await step(conn.prompt(session_id=sid, prompt=say("go on")))).stop_reason == "end_turn"
    assert again.text() == "Resumed."


# -- loading a stored session ------------------------------------------------------------------------


async def test_load_replays_the_stored_conversation_then_continues_it(provider, script, env, workspace) -> None:
    script.add(Reply(text="Writing it.", tool_calls=[write("a.txt", "one\n")]), Reply(text="Done writing."))
    first = RecordingClient(answers=deque(["allow_once"]))
    async with run_agent_process(provider, env, workspace, first) as (conn, _):
        sid = (await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))).session_id
        assert (await step(conn.prompt(session_id=sid, prompt=say("make a.txt")))).stop_reason == "end_turn"

    script.add(Reply(text="It holds one line."))
    second = RecordingClient()
    async with run_agent_process(provider, env, workspace, second) as (conn, _):
        listed = await step(conn.list_sessions(cwd=str(workspace)))
        assert sid in [info.session_id for info in listed.sessions]
        loaded = await step(conn.load_session(cwd=str(workspace), session_id=sid, mcp_servers=[]))
        assert loaded.modes.current_mode_id == "default"

        kinds = [u.session_update for _, u in second.updates]
        assert kinds[0] == "user_message_chunk" and second.text("user_message_chunk", sid) == "make a.txt"
        assert second.text(session_id=sid) == "Writing it.Done writing."
        [start] = second.of("tool_call")
        assert start.title == "Write a.txt" and start.kind == "edit"
        done = second.calls(start.tool_call_id)[-1]
        assert done.status == "completed"
        assert (done.content[0].type, done.content[0].new_text) == ("diff", "one\n")
        assert second.permissions == []  # a replay asks nothing

        second.clear()
        response = await step(conn.prompt(session_id=sid, prompt=say("what is in a.txt?")))

    assert response.stop_reason == "end_turn" and second.text() == "It holds one line."
    assert second.of("user_message_chunk") == [] and second.of("tool_call") == []  # no replay in a live turn
    messages = turn_requests(provider)[-1].body["messages"]
    assert {"role": "user", "content": "make a.txt"} in messages  # the history came back from the store
    assert messages[-1] == {"role": "user", "content": "what is in a.txt?"}


# -- errors are answers, not crashes -----------------------------------------------------------------


async def test_bad_requests_get_one_line_errors_and_the_agent_keeps_serving(provider, script, env, workspace) -> None:
    script.add(Reply(fault=Fault.auth()))
    client = RecordingClient()
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        with pytest.raises(RequestError) as missing:
            await step(conn.load_session(cwd=str(workspace), session_id="ses_doesnotexist", mcp_servers=[]))
        assert missing.value.code == -32002 and "ses_doesnotexist" in str(missing.value)
        with pytest.raises(RequestError) as unknown:
            await step(conn.prompt(session_id="ses_unknown", prompt=say("hi")))
        assert "unknown session ses_unknown" in str(unknown.value)
        with pytest.raises(RequestError) as nodir:
            await step(conn.new_session(cwd=str(workspace / "missing"), mcp_servers=[]))
        assert "not a directory" in str(nodir.value)
        with pytest.raises(RequestError) as relative:
            await step(conn.new_session(cwd="ws", mcp_servers=[]))
        assert "absolute" in str(relative.value)

        sid = (await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))).session_id
        with pytest.raises(RequestError) as failed:
            await step(conn.prompt(session_id=sid, prompt=say("hi")))
        assert failed.value.data["kind"] == "auth" and "\n" not in str(failed.value)
        script.add(Reply(text="Back."))
        assert (await step(conn.prompt(session_id=sid, prompt=say("retry")))).stop_reason == "end_turn"
    assert client.text() == "Back."


async def test_max_turns_stops_with_max_turn_requests(provider, script, env, workspace) -> None:
    config = Path(env["KODE_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "config.toml").write_text("[agent]\nmax_turns = 1\n")
    script.add(Reply(tool_calls=[ToolCall("read_file", {"path": "app.py"})]))
    client = RecordingClient()
    async with run_agent_process(provider, env, workspace, client) as (conn, _):
        sid = (await step(conn.new_session(cwd=str(workspace), mcp_servers=[]))).session_id
        response = await step(conn.prompt(session_id=sid, prompt=say("read app.py")))
    assert response.stop_reason == "max_turn_requests"
    [start] = client.of("tool_call")
    assert start.kind == "read" and start.locations[0].path == str(workspace / "app.py")
    final = client.calls(start.tool_call_id)[-1]
    assert final.status == "completed" and "print('hi')" in final.content[0].content.text


# -- the pure pieces ---------------------------------------------------------------------------------


def test_diffs_become_acp_diffs_per_hunk() -> None:
    old = "".join(f"line {n}\n" for n in range(1, 21)).replace("line 3\n", "-- sql comment\n")
    new = old.replace("-- sql comment\n", "-- changed\n").replace("line 18\n", "line eighteen\n")
    hunks = diff_contents(unified_diff(old, new, "q.sql"), "/ws")
    assert [h.path for h in hunks] == ["/ws/q.sql", "/ws/q.sql"]
    assert "-- sql comment\n" in hunks[0].old_text and "-- changed\n" in hunks[0].new_text
    assert hunks[0].old_text.count("\n") == hunks[0].new_text.count("\n") == 6  # 3 context lines each side
    assert "line eighteen\n" in hunks[1].new_text and "line 18\n" in hunks[1].old_text
    [created] = diff_contents(unified_diff(None, "a\nb", "new.txt"), "/ws")
    assert created.old_text is None and created.new_text == "a\nb\n"


def test_prompt_blocks_become_one_message() -> None:
    blocks = [
        text_block("look at"),
        ResourceContentBlock(type="resource_link", name="app.py", uri="file:///ws/src/app.py"),
        text_block("and this selection:"),
        EmbeddedResourceContentBlock(
            type="resource", resource=TextResourceContents(uri="file:///ws/src/b.py#L1-2", text="x = 1")
        ),
    ]
    text = prompt_text(blocks, "/ws")
    assert text.startswith("look at @src/app.py and this selection:")
    assert '<context ref="src/b.py#L1-2">\nx = 1\n</context>' in text


def test_stop_reasons() -> None:
    def finished(status: TurnStatus, error: ErrorInfo | None = None) -> TurnFinished:
        return TurnFinished(turn_id="t", status=status, duration=0.0, error=error)

    assert stop_reason(finished(TurnStatus.COMPLETED), "stop") == "end_turn"
    assert stop_reason(finished(TurnStatus.COMPLETED), "content_filter") == "refusal"
    assert stop_reason(finished(TurnStatus.COMPLETED), "length") == "max_tokens"
    assert stop_reason(finished(TurnStatus.MAX_TURNS), None) == "max_turn_requests"
    assert stop_reason(finished(TurnStatus.CANCELLED), None) == "cancelled"
    assert stop_reason(None, None) == "cancelled"
    with pytest.raises(RequestError) as failed:
        stop_reason(finished(TurnStatus.FAILED, ErrorInfo(kind=ErrorKind.AUTH, message="bad key", hint="Fix it.")), None)
    assert str(failed.value) == "bad key. Fix it." and failed.value.data == {"kind": "auth", "retryable": False}


def test_completed_messages_add_only_what_deltas_did_not_deliver() -> None:
    live = UpdateTranslator("/ws")
    assert [u.content.text for u in live.translate(TextDelta(message_id="m", text="Hel"))] == ["Hel"]
    done = MessageCompleted(message_id="m", text="Hello.", thinking="Hm.", finish_reason="stop")
    assert [(u.session_update, u.content.text) for u in live.translate(done)] == [
        ("agent_thought_chunk", "Hm."), ("agent_message_chunk", "lo.")
    ]
    assert live.translate(TextDelta(message_id="s", text="sub-agent text", agent_id="agent_2")) == []
    assert live.translate(UserMessage(message_id="u", text="hi")) == []  # the editor shows its own
    replay = UpdateTranslator("/ws", replay=True)
    assert [u.content.text for u in replay.translate(UserMessage(message_id="u", text="hi"))] == ["hi"]
    assert [u.content.text for u in replay.translate(done)] == ["Hm.", "Hello."]
