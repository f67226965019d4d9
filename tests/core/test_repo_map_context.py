"""The repo map joins the system prompt once per turn, steered by the request's words."""

from __future__ import annotations

from pathlib import Path

from kode.protocol.ops import SubmitMessage
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session


async def test_the_map_is_in_the_system_prompt_and_follows_the_request(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "billing").mkdir(parents=True)
    (ws / "billing" / "invoices.py").write_text("def render_invoice(order):\n    return str(order)\n")
    (ws / "shipping.py").write_text("from billing.invoices import render_invoice\n\ndef ship(order):\n    render_invoice(order)\n")
    for i in range(30):
        (ws / f"noise_{i}.py").write_text(f"def helper_{i}():\n    return {i}\n")
    model = ScriptedModel(Step(text="ok"), Step(text="ok"))
    session = scripted_session(ws, model)
    session.agent.settings.repo_map_tokens = 120
    await session.submit(SubmitMessage(text="where is render_invoice defined?"))
    await session.wait_idle()
    system = str(model.requests[0].messages[0]["content"])
    assert "Repository map" in system
    assert "billing/invoices.py" in system and "def render_invoice(order):" in system
    assert system.count("noise_") < 30, "the budget keeps the map small"


async def test_no_map_when_turned_off(tmp_path: Path) -> None:
    model = ScriptedModel(Step(text="ok"))
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    session = scripted_session(tmp_path, model)
    await session.submit(SubmitMessage(text="hi"))
    await session.wait_idle()
    assert "Repository map" not in str(model.requests[0].messages[0]["content"])
