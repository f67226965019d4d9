"""The real `kode` binary, as a script would run it, against the fake provider over HTTP."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from kode.protocol import protocol_schema
from kode.testing.fake_provider import Fault, Reply, ToolCall

pytestmark = pytest.mark.e2e

KODE = [sys.executable, "-m", "kode"]
@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "app.py").write_text("print('hi')\n")
    return ws


def kode(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KODE, *args], env=env, cwd=cwd, input=stdin if stdin is not None else "", capture_output=True, text=True, timeout=timeout
    )


def test_text_output_streams_the_answer(provider, env, workspace) -> None:
    provider.script(Reply(text="Hello from the fake model."))
    result = kode(["ask", "say hello"], env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello from the fake model.\n"
    body = provider.requests[0].body
    assert body["messages"][-1] == {"role": "user", "content": "say hello"}
    assert body["stream"] is True


def test_the_repo_map_is_sent_and_its_tags_are_kept_in_the_session_store(provider, env, workspace) -> None:
    (workspace / "billing.py").write_text("def render_invoice(order):\n    return str(order)\n")
    result = kode(["ask", "where is render_invoice?"], env, workspace)
    assert result.returncode == 0, result.stderr
    assert "def render_invoice(order):" in provider.requests[0].body["messages"][0]["content"]
    with sqlite3.connect(Path(env["KODE_DATA_DIR"]) / "kode.db") as db:
        assert db.execute("SELECT count(*) FROM repo_tags").fetchone()[0] == 2  # app.py and billing.py


def test_stdin_is_appended_to_the_prompt(provider, env, workspace) -> None:
    provider.script(Reply(text="Reviewed."))
    result = kode(["ask", "Review this:"], env, workspace, stdin="diff --git a/x b/x\n+new line\n")
    assert result.returncode == 0, result.stderr
    assert provider.requests[0].body["messages"][-1]["content"] == "Review this:\n\ndiff --git a/x b/x\n+new line"


def test_json_output_has_result_usage_cost_and_turns(provider, env, workspace) -> None:
    provider.script(
        Reply(text="Reading.", tool_calls=[ToolCall("read_file", {"path": "app.py"})]),
        Reply(text="It prints hi."),
    )
    result = kode(["ask", "what does app.py do?", "--output-format", "json"], env, workspace)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["result"] == "It prints hi." and out["status"] == "completed" and out["is_error"] is False
    assert out["turns"] == 2 and out["session_id"].startswith("ses_")
    assert out["usage"]["input_tokens"] > 0 and out["cost_usd"] > 0 and out["duration_s"] > 0


def test_stream_json_lines_validate_against_the_schema(provider, env, workspace) -> None:
    provider.script(
        Reply(text="Looking.", tool_calls=[ToolCall("grep", {"pattern": "print"})]),
        Reply(text="Found it."),
    )
    result = kode(["ask", "find print", "-o", "stream-json"], env, workspace)
    assert result.returncode == 0, result.stderr
    schema = protocol_schema()
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    for line in lines:
        jsonschema.validate(line, schema)
    types = [line["type"] for line in lines]
    for expected in ("session_started", "user_message", "turn_started", "text_delta", "message_completed",
                     "tool_call_requested", "tool_call_started", "tool_call_finished", "turn_finished"):
        assert expected in types
    seqs = [line["seq"] for line in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_edits_are_denied_without_permission_and_allowed_with_it(provider, env, workspace) -> None:
    call = ToolCall("write_file", {"path": "new.txt", "content": "x\n"})
    provider.script(Reply(tool_calls=[call]), Reply(text="Could not write."))
    denied = kode(["ask", "write new.txt"], env, workspace)
    assert denied.returncode == 0 and not (workspace / "new.txt").exists()
    assert "--allow" in json.dumps(provider.requests[-1].body["messages"][-1])
    provider.script(Reply(tool_calls=[call]), Reply(text="Wrote it."))
    allowed = kode(["ask", "write new.txt", "--allow", "edit(*.txt)"], env, workspace)
    assert allowed.returncode == 0 and (workspace / "new.txt").read_text() == "x\n"


def test_missing_api_key_is_one_clear_line_and_exit_2(env, workspace) -> None:
    for var in ("OPENAI_API_KEY", "KODE_API_BASE"):
        env.pop(var)
    env["KODE_MODEL"] = "anthropic/claude-sonnet-4-5"
    result = kode(["ask", "hi"], env, workspace)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "ANTHROPIC_API_KEY" in result.stderr
    assert result.stdout == ""


def test_broken_config_reports_file_and_line(env, workspace) -> None:
    (workspace / ".kode").mkdir()
    (workspace / ".kode" / "config.toml").write_text('[permissions]\nmode = "yolo"\n')
    result = kode(["ask", "hi"], env, workspace)
    assert result.returncode == 2
    assert f"{workspace}/.kode/config.toml:2" in result.stderr and "permissions.mode" in result.stderr


def test_usage_errors_exit_2(env, workspace) -> None:
    assert kode(["ask"], env, workspace).returncode == 2
    bad = kode(["ask", "hi", "--output-format", "xml"], env, workspace)
    assert bad.returncode == 2 and "xml" in bad.stderr


def test_provider_error_exits_1_with_a_classified_message(provider, env, workspace) -> None:
    provider.script(Reply(fault=Fault.auth()))
    result = kode(["ask", "hi"], env, workspace)
    assert result.returncode == 1
    assert "auth (401)" in result.stderr and "API key" in result.stderr
    assert len(provider.requests) == 1


def test_sigint_cancels_the_turn_and_exits_130(provider, env, workspace) -> None:
    provider.script(Reply(text="word " * 200, delay=0.05, chunk_size=5))
    proc = subprocess.Popen([*KODE, "ask", "talk", "-o", "stream-json"], env=env, cwd=workspace,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if '"text_delta"' in line:
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=20)
    assert proc.returncode == 130
    finished = [json.loads(line) for line in rest.splitlines() if '"turn_finished"' in line]
    assert finished and finished[0]["status"] == "cancelled"


def test_version_and_help_never_import_litellm(tmp_path: Path, env, workspace) -> None:
    poison = tmp_path / "poison"
    (poison / "litellm").mkdir(parents=True)
    (poison / "litellm" / "__init__.py").write_text("raise ImportError('litellm must not be imported here')\n")
    env["PYTHONPATH"] = str(poison)
    for args in (["--version"], ["--help"], ["ask", "--help"], ["config", "show"]):
        result = kode(args, env, workspace)
        assert result.returncode == 0, (args, result.stderr)
    assert kode(["--version"], env, workspace).stdout.startswith("kode ")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("kode")
    assert script.exists()
    started = time.monotonic()
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("kode 0.")
    assert time.monotonic() - started < 5
