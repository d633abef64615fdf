"""isaacctl's benchmarks, one command: `python benchmarks/run.py [SUITE...]`.

Each suite prints its figures beside a reference measured in the same run (plain Python
start-up, rsync, plain ssh, ...), so a slow machine shows as a slow reference, not as a
regression. Results also land in benchmarks/results/<suite>.json with the commit, date and
machine of the run (benchmarks/resultfile.py); `benchmarks/compare.py OLD NEW` compares two
runs and `benchmarks/report.py` writes the README's table from the latest ones.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from resultfile import current_provenance, format_row, pivot, save  # noqa: E402
from suites import SUITES  # noqa: E402


def show(rows: list[dict]) -> None:
    flat = [entry for entry in rows if not entry.get("table")]  # the others: one table below
    width = max((len(entry["what"]) for entry in flat), default=0)
    for entry in flat:
        value, ratio, goal = format_row(entry)
        print(
            f"{entry['what']:<{width}}  {value:>12}{f'  ({ratio})' if ratio else ''}{f'  goal {goal}' if goal else ''}"
        )
    columns, names, cells = pivot(rows)
    if columns:
        first = max(len(name) for name in names)
        widths = [max(len(column), *(len(cells.get((name, column), "")) for name in names)) for column in columns]
        print(" " * first + "  " + "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
        for name in names:
            texts = [cells.get((name, column), "").rjust(w) for column, w in zip(columns, widths, strict=True)]
            print(name.ljust(first) + "  " + "  ".join(texts))


def _compile_sources() -> None:
    """isaacctl's bytecode, as a pip install leaves it: with PYTHONDONTWRITEBYTECODE set (as
    it is on some machines), a source changed since its last .pyc would be compiled again by
    every command measured, and the figures would be the compiler's."""
    import compileall

    compileall.compile_dir(str(HERE.parent / "src"), quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", choices=[[], *SUITES], help="default: all")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per figure")
    args = parser.parse_args()
    chosen = args.suites or list(SUITES)
    _compile_sources()
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    failed = []
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        provenance = current_provenance()  # the load before the suite, not after it
        try:
            rows = SUITES[name](repeat=args.repeat)
        except Exception:  # noqa: BLE001 - one broken suite must not cost the others' figures
            traceback.print_exc()
            failed.append(name)
            continue
        show(rows)
        save(results_dir / f"{name}.json", name, rows, provenance)
    if failed:
        print(f"\nfailed: {', '.join(failed)} (their previous results are kept)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
