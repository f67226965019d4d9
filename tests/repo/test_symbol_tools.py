"""The symbol tools (symbols, find_definition, find_references) against a LocalEnvironment."""

from __future__ import annotations

from pathlib import Path

import pytest

from kode.runtime.local import LocalEnvironment
from kode.testing.contract_support import Call, tool_caller
from kode.tools.base import AgentToolState, ToolContext, ToolRegistry, ToolSettings
from kode.tools.symbols import symbol_tools


@pytest.fixture
def call(project: Path) -> Call:
    ctx = ToolContext(env=LocalEnvironment(project), state=AgentToolState())
    return tool_caller(ctx, ToolRegistry(symbol_tools()))


def test_tools_are_read_only_with_strict_schemas() -> None:
    tools = symbol_tools()
    assert [t.name for t in tools] == ["symbols", "find_definition", "find_references"]
    for tool in tools:
        assert tool.kind == "read" and tool.read_only
        assert tool.schema()["function"]["parameters"]["additionalProperties"] is False


async def test_symbols_outline(call: Call) -> None:
    result = await call("symbols", path="app/models.py")
    assert not result.is_error
    assert result.output.splitlines() == [
        "app/models.py (python, 3 definitions):",
        "     1  class Invoice — class Invoice:",
        "     4    method Invoice.total — def total(self, tax):",
        "     8  function compute_tax — def compute_tax(amount, rate):",
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("go/ledger.go", "struct Ledger"),
        ("rust/lib.rs", "trait Audit"),
        ("java/Bank.java", "method Bank.deposit"),
        ("cpp/shape.cpp", "method Shape.area"),
        ("ruby/report.rb", "method Summary.build"),
        ("web/view.ts", "interface Props"),
        ("c/util.c", "macro SQUARE"),
    ],
)
async def test_symbols_other_languages(call: Call, path: str, expected: str) -> None:
    result = await call("symbols", path=path)
    assert expected in result.output


@pytest.mark.parametrize(
    ("path", "message"),
    [("README.md", "not a supported source file"), ("app", "is a directory"), ("nope.py", "not found")],
)
async def test_symbols_errors(call: Call, path: str, message: str) -> None:
    result = await call("symbols", path=path)
    assert result.is_error and message in result.output


async def test_find_definition(call: Call) -> None:
    result = await call("find_definition", name="compute_tax")
    assert result.output == "app/models.py:8: def compute_tax(amount, rate):  (function)"
    go = await call("find_definition", name="Sum")
    assert go.output == "go/sum.go:3: func Sum(xs []int) int { t := 0; for _, x := range xs { t += x }; return t }  (function)"


async def test_find_definition_qualified_and_scoped(call: Call) -> None:
    both = await call("find_definition", name="area")
    assert both.output.count("cpp/shape.cpp:") == 2
    one = await call("find_definition", name="Circle::area")
    assert one.output.splitlines() == ["cpp/shape.cpp:7: double Circle::area() const { return 3.14 * add(1, 2); }  (method)"]
    narrowed = await call("find_definition", name="Invoice", path="web")
    assert narrowed.output == "No definition of Invoice found."
    ignored = await call("find_definition", name="should_not_appear")
    assert ignored.output == "No definition of should_not_appear found."  # .gitignore'd


async def test_find_definition_rejects_non_identifiers(call: Call) -> None:
    result = await call("find_definition", name="foo(")
    assert result.is_error and "not an identifier" in result.output


async def test_find_references(call: Call) -> None:
    result = await call("find_references", name="Invoice")
    assert result.output.splitlines() == [
        "app/service.py:1: from app.models import Invoice, compute_tax",
        "app/service.py:6: invoice = Invoice()",
    ]  # not the comment on line 5, not the definition
    money = await call("find_references", name="formatMoney")
    assert [line.split(":")[0] for line in money.output.splitlines()] == [
        "web/format.js", "web/view.ts", "web/widget.tsx"]
    assert (await call("find_references", name="Nothing")).output == "No references to Nothing found."


async def test_find_references_capped(project: Path) -> None:
    lines = "".join(f"print(compute_tax({i}, 1))\n" for i in range(30))
    (project / "many.py").write_text("from app.models import compute_tax\n" + lines)
    ctx = ToolContext(env=LocalEnvironment(project), state=AgentToolState(), settings=ToolSettings())
    call = tool_caller(ctx, ToolRegistry(symbol_tools()))
    result = await call("find_references", name="compute_tax", path="many.py", max_results=5)
    out = result.output.splitlines()
    assert len(out) == 6 and out[-1] == "... 26 more references not shown (of 31)"
    assert result.display == {"references": 31}


async def test_single_file_and_escape(call: Call) -> None:
    one = await call("find_definition", name="add", path="c/util.c")
    assert one.output == "c/util.c:4: int add(int a, int b) { return a + b; }  (function)"
    escape = await call("find_references", name="add", path="../outside")
    assert escape.is_error
    missing = await call("find_definition", name="add", path="nowhere")
    assert missing.is_error and "not found" in missing.output
