"""Regenerate the reference docs that are derived from code.

    python scripts/generate_docs.py          # write them
    python scripts/generate_docs.py --check  # exit 1 if any is stale (CI runs this via tests)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_reference() -> str:
    """Every command's `--help`, exactly as `kode` prints it."""
    import os

    from typer.testing import CliRunner

    from kode.cli.app import app

    os.environ["COLUMNS"] = "100"
    runner = CliRunner()
    parts = ["# CLI reference", "", "Generated from `kode --help` by `scripts/generate_docs.py`; do not edit.", ""]
    for command in ([], ["ask"], ["config"], ["config", "show"]):
        result = runner.invoke(app, [*command, "--help"], prog_name="kode", env={"COLUMNS": "100", "NO_COLOR": "1"})
        title = " ".join(["kode", *command])
        parts += [f"## `{title}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


def generated() -> dict[Path, str]:
    from kode.config.show import schema_markdown
    from kode.protocol.codec import protocol_schema

    return {
        ROOT / "docs" / "protocol.schema.json": json.dumps(protocol_schema(), indent=2, sort_keys=True) + "\n",
        ROOT / "docs" / "configuration-reference.md": schema_markdown(),
        ROOT / "docs" / "cli-reference.md": cli_reference(),
    }


def main(argv: list[str]) -> int:
    stale = []
    for path, text in generated().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            path.write_text(text)
    if "--check" in argv and stale:
        print("stale: " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
