"""The `kode` console script.

`kode --version` is answered before anything is imported (target: well under 150 ms); every
other command goes through the typer app, which itself imports heavy modules only inside the
commands that need them.
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
    from kode.cli.app import run

    return run(args)
