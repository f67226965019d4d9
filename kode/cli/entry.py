"""The `kode` console script.

`kode --version` is answered before anything is imported (target: well under 150 ms), and a
bare `kode` goes straight to the TUI; every other command goes through the typer app, which
itself imports heavy modules only inside the commands that need them.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from kode import timings

    timings.mark("startup")
    if args in (["--version"], ["-V"]):
        from kode import __version__

        sys.stdout.write(f"kode {__version__}\n")
        return 0
    if not args:  # the TUI: skip typer's import on the way to the first paint
        from kode.cli.tui_cmd import TuiOptions, run_tui

        return run_tui(TuiOptions())
    from kode.cli.app import run

    return run(args)
