"""The repo map: tags per language, ranking for a request, the token budget and the tag cache."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kode.repo import cache as tag_cache
from kode.repo.rank import rank_files
from kode.repo.repomap import CHARS_PER_TOKEN, build_repo_map, collect_tags, estimate_tokens
from kode.repo.tags import extract_tags, language_for, reference_lines
from kode.runtime.local import LocalEnvironment
from kode.store import Store

from .conftest import SAMPLE

EXPECTED: dict[str, set[tuple[str, str]]] = {
    "app/models.py": {("class", "Invoice"), ("method", "Invoice.total"), ("function", "compute_tax")},
    "web/format.js": {("class", "Formatter"), ("method", "Formatter.format"), ("function", "formatMoney"),
                      ("function", "shout")},
    "web/view.ts": {("interface", "Props"), ("type", "Money"), ("enum", "Color"), ("class", "InvoiceView"),
                    ("method", "InvoiceView.render"), ("function", "renderAll")},
    "web/widget.tsx": {("function", "Badge")},
    "go/ledger.go": {("struct", "Ledger"), ("interface", "Store"), ("function", "NewLedger"),
                     ("method", "Ledger.Balance")},
    "rust/lib.rs": {("struct", "Account"), ("enum", "Kind"), ("trait", "Audit"), ("method", "Account.deposit"),
                    ("function", "open_account")},
    "java/Bank.java": {("class", "Bank"), ("method", "Bank.deposit"), ("interface", "Vault")},
    "c/util.c": {("struct", "point"), ("type", "money_t"), ("macro", "SQUARE"), ("function", "add"),
                 ("function", "name_of")},
    "cpp/shape.cpp": {("module", "geo"), ("class", "Shape"), ("method", "Shape.area"), ("method", "Circle.area")},
    "ruby/report.rb": {("module", "Reports"), ("class", "Reports.Summary"), ("method", "Summary.render"),
                       ("method", "Summary.build"), ("function", "helper_method")},
}


@pytest.fixture(autouse=True)
def _fresh_memory_cache() -> None:
    tag_cache.clear_memory()


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_definitions_per_language(path: str) -> None:
    tags = extract_tags(path, SAMPLE[path].encode())
    assert tags is not None
    found = {(d.kind, d.qualname) for d in tags.definitions}
    assert EXPECTED[path] <= found, found


def test_signatures_lines_and_references() -> None:
    tags = extract_tags("app/models.py", SAMPLE["app/models.py"].encode())
    assert tags is not None
    total = next(d for d in tags.definitions if d.name == "total")
    assert (total.line, total.signature) == (4, "    def total(self, tax):")
    service = extract_tags("app/service.py", SAMPLE["app/service.py"].encode())
    assert service is not None
    assert service.references["Invoice"] == 2  # the import and the call; not the comment
    assert "make_invoice" not in service.references  # its own definition is not a use
    go = extract_tags("go/ledger.go", SAMPLE["go/ledger.go"].encode())
    assert go is not None and "Sum" in go.references
    assert reference_lines("app/service.py", SAMPLE["app/service.py"].encode(), "Invoice") == [1, 6]


def test_unsupported_files() -> None:
    assert language_for("README.md") is None
    assert extract_tags("README.md", b"# hi") is None
    assert language_for("x/Y.TSX") == "tsx"


async def test_collect_honours_gitignore_and_skips_other_files(project: Path) -> None:
    tags = await collect_tags(LocalEnvironment(project))
    assert "ignored/skip.py" not in tags
    assert "README.md" not in tags
    assert {"app/models.py", "go/sum.go", "ruby/report.rb", "cpp/shape.cpp"} <= set(tags)


async def test_graph_ranks_the_used_file_first(project: Path) -> None:
    tags = await collect_tags(LocalEnvironment(project))
    ranking = rank_files(tags)
    top = [path for path, _ in ranking.files]
    # models.py is used by service.py, which cli.py uses; nothing uses cli.py.
    assert top.index("app/models.py") < top.index("app/cli.py")
    assert top.index("go/sum.go") < top.index("go/ledger.go")


@pytest.mark.parametrize(
    ("files", "query", "expected"),
    [
        (["ruby/report.rb"], "", "ruby/report.rb"),
        (["./c/main.c"], "", "c/main.c"),
        ([], "why does the rust lib open_account fail", "rust/lib.rs"),
        ([], "look at java/Helper", "java/Helper.java"),
        ([], "change NewLedger", "go/ledger.go"),
    ],
)
async def test_request_steers_the_ranking(project: Path, files: list[str], query: str, expected: str) -> None:
    repo_map = await build_repo_map(LocalEnvironment(project), tokens=4000, files=files, query=query)
    top = [path for path, _ in repo_map.ranking.files[:3]]
    assert expected in top
    assert repo_map.shown[0] == expected


async def test_absolute_mentioned_path(project: Path) -> None:
    env = LocalEnvironment(project)
    repo_map = await build_repo_map(env, files=[f"{env.root}/java/Bank.java"])
    assert repo_map.shown[0] == "java/Bank.java"


@pytest.mark.parametrize("tokens", [20, 60, 150, 400, 5000])
async def test_budget_is_respected(project: Path, tokens: int) -> None:
    repo_map = await build_repo_map(LocalEnvironment(project), tokens=tokens, query="Invoice")
    assert estimate_tokens(repo_map.text) <= tokens
    assert len(repo_map.text) <= tokens * CHARS_PER_TOKEN
    for path in repo_map.shown:
        assert f"{path}:\n" in repo_map.text
    if tokens >= 400:
        assert repo_map.shown[0] == "app/models.py"
        assert "    1│class Invoice:" in repo_map.text
    if tokens == 5000:  # everything fits
        assert len(repo_map.shown) == len([t for t in repo_map.tags.values() if t.definitions])


async def test_repr_stays_small(project: Path) -> None:
    """asyncio reprs a task's result; a full repr of every file's tags once doubled peak memory."""
    repo_map = await build_repo_map(LocalEnvironment(project))
    assert len(repr(repo_map)) < 500


async def test_more_tokens_show_more_files(project: Path) -> None:
    env = LocalEnvironment(project)
    small = await build_repo_map(env, tokens=80)
    large = await build_repo_map(env, tokens=400)
    assert len(small.shown) < len(large.shown)
    assert large.shown[: len(small.shown)] == small.shown


async def test_cache_hit_on_second_build(project: Path, tmp_path: Path) -> None:
    env = LocalEnvironment(project)
    url = f"sqlite+aiosqlite:///{tmp_path / 'kode.db'}"
    async with await Store.open(url) as store:
        cold = await build_repo_map(env, store=store)
        assert cold.stats.parsed == cold.stats.files > 10
    tag_cache.clear_memory()  # a new process: only the store remains
    async with await Store.open(url) as store:
        warm = await build_repo_map(env, store=store)
        assert warm.stats.parsed == 0 and warm.stats.cache_hits == cold.stats.files
        assert warm.text == cold.text
        again = await build_repo_map(env)  # the memory cache alone
        assert again.stats.parsed == 0
        (project / "app" / "models.py").write_text(SAMPLE["app/models.py"] + "\n\ndef added():\n    pass\n")
        changed = await build_repo_map(env, store=store)
        assert changed.stats.parsed == 1
        assert any(d.name == "added" for d in changed.tags["app/models.py"].definitions)


class BrokenStore:
    """A store whose database went away mid-session."""

    def __init__(self) -> None:
        self.calls = 0

    async def get_repo_tags(self, keys):  # noqa: ANN001, ANN201
        self.calls += 1
        raise OSError("disk I/O error")

    async def put_repo_tags(self, rows):  # noqa: ANN001, ANN201
        self.calls += 1
        raise OSError("disk I/O error")


async def test_a_failing_store_only_costs_parsing(project: Path) -> None:
    broken = BrokenStore()
    built = await build_repo_map(LocalEnvironment(project), store=broken)
    assert built.stats.parsed == built.stats.files > 10 and built.text
    assert broken.calls == 1, "a store that failed once is not asked again in the same build"


def test_map_command(project: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kode.cli.map_cmd", "--cwd", str(project), "--tokens", "200",
         "--query", "formatMoney", "web/format.js"],
        capture_output=True, text=True, timeout=60,
        env={"KODE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("web/format.js:\n")
    assert "formatMoney" in result.stdout
    assert len(result.stdout) <= 200 * CHARS_PER_TOKEN
    with sqlite3.connect(tmp_path / "data" / "kode.db") as db:  # the tags went to the session store
        assert db.execute("SELECT count(*) FROM repo_tags").fetchone()[0] > 10


def test_run_map(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kode.cli.map_cmd import run_map

    assert run_map(project, 0, [], "") == 2
    assert "--tokens must be positive" in capsys.readouterr().err
    assert run_map(project, 100, ["app/cli.py"], "", store_url=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}") == 0
    assert capsys.readouterr().out.startswith("app/cli.py:\n")


def test_importing_does_not_load_tree_sitter() -> None:
    """kode's start-up must not pay for tree-sitter (or sqlite): only the first parse loads it."""
    code = (
        "import sys, kode.repo.repomap, kode.tools.symbols, kode.cli.map_cmd\n"
        "print(sorted(m for m in sys.modules if m.startswith(('tree_sitter', 'sqlite3'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
