"""`kode --version` and `kode --help` wall time (target for --version: < 150 ms)."""

from __future__ import annotations

from _util import KODE, describe, measure


def main(runs: int = 20) -> dict[str, float]:
    results = {}
    for args in (["--version"], ["--help"]):
        measure([KODE, *args])  # warm the page cache
        walls = []
        for _ in range(runs):
            run = measure([KODE, *args])
            assert run.returncode == 0, run.output
            walls.append(run.wall)
        print(f"kode {' '.join(args):<10} {describe(walls)}")
        results[" ".join(args)] = sorted(walls)[len(walls) // 2]
    return results


if __name__ == "__main__":
    main()
