"""Model routing through the real `kode ask`: a fallback chain when the main model fails, and
spending caps that stop work with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kode.testing.fake_provider import Fault, Reply

pytestmark = pytest.mark.e2e


def ask(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kode", "ask", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )


def config(env: dict[str, str], text: str) -> None:
    path = Path(env["KODE_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_failing_model_falls_back_to_the_next(provider, env, tmp_path: Path) -> None:
    config(env, '[models]\nfallbacks = ["openai/gpt-4o"]\n[llm]\nmax_attempts = 1\n')
    provider.script(Reply(fault=Fault.status(503)), Reply(text="answered by the fallback"))
    result = ask(["hello"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "answered by the fallback\n"
    assert [r.body["model"] for r in provider.requests[:2]] == ["gpt-4o-mini", "gpt-4o"]
    assert "trying openai/gpt-4o" in result.stderr


def test_a_bad_request_does_not_fall_back(provider, env, tmp_path: Path) -> None:
    config(env, '[models]\nfallbacks = ["openai/gpt-4o"]\n[llm]\nmax_attempts = 1\n')
    provider.script(Reply(fault=Fault.status(400)), Reply(text="never"))
    result = ask(["hello"], env, tmp_path)
    assert result.returncode == 1
    assert len(provider.requests) == 1


def test_the_session_spending_cap_stops_work(provider, env, tmp_path: Path) -> None:
    config(env, "[budget]\nsession_usd = 0.0001\n")
    first = ask(["the first question"], env, tmp_path)
    assert first.returncode == 0, first.stderr  # the cap is checked before a call: the first one runs
    second = ask(["--continue", "a second question"], env, tmp_path)
    assert second.returncode == 1
    assert "spending cap of $0.00" in second.stderr and "session_usd" in second.stderr
    assert len(provider.requests) == 1, "no model call once the cap is reached"


def test_the_router_model_sends_each_request_to_its_kinds_model(provider, env, tmp_path: Path) -> None:
    config(
        env,
        '[models]\nrouter = "openai/router-mini"\n'
        '[routing.kinds]\ndebug = "openai/gpt-4o"\nquestion = "openai/cheap-one"\n',
    )
    provider.script(Reply(text="debug"), Reply(text="the fix is in"))
    result = ask(["--output-format", "stream-json", "the build fails with ImportError"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r.body["model"] for r in provider.requests] == ["router-mini", "gpt-4o"]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    started = [e for e in events if e.get("type") == "turn_started"]
    assert started[0]["task_kind"] == "debug" and started[0]["model"] == "openai/gpt-4o"
    billed = [e for e in events if e.get("type") in ("side_call", "message_completed")]
    assert [(e["type"], e["model"]) for e in billed] == [("side_call", "openai/router-mini"), ("message_completed", "openai/gpt-4o")]
    finished = next(e for e in events if e.get("type") == "turn_finished")
    assert finished["usage"]["input_tokens"] == sum(e["usage"]["input_tokens"] for e in billed)
