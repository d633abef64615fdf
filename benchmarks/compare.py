"""Compare two benchmark runs: `python benchmarks/compare.py OLD NEW`.

OLD and NEW are result files (benchmarks/results/<suite>.json) or folders of them. For each
figure both runs have, prints the ratio against its same-run reference first (timings on a
shared machine are noisy; the ratio is what to trust), then the value itself, old -> new with
the change in percent. Figures only one run has are listed as added or gone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from resultfile import Result, format_value, load_all  # noqa: E402


def change(old: float, new: float) -> str:
    if old == new:
        return "="
    if old == 0:
        return "new"
    return f"{(new - old) / old * 100:+.0f}%"


def compare_rows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[list[str]]:
    """[what, ratio old, ratio new, ratio change, value old, value new, value change]; the
    figures with a same-run reference first, each group in NEW's order."""
    before = {entry["what"]: entry for entry in old}
    lines: list[list[str]] = []
    for entry in new:
        was = before.pop(entry["what"], None)
        if was is None:
            lines.append([entry["what"], "", "", "", "", format_value(entry["value"], entry["unit"]), "added"])
            continue
        ratios = ["", "", ""]
        if was.get("ratio") and entry.get("ratio"):
            ratios = [f"{was['ratio']:.2f}x", f"{entry['ratio']:.2f}x", change(was["ratio"], entry["ratio"])]
        values = [
            format_value(was["value"], was["unit"]),
            format_value(entry["value"], entry["unit"]),
            change(was["value"], entry["value"]),
        ]
        lines.append([entry["what"], *ratios, *values])
    lines += [[what, "", "", "", format_value(e["value"], e["unit"]), "", "gone"] for what, e in before.items()]
    return sorted(lines, key=lambda line: not line[1])  # stable: keeps the order within each group


def render(old: dict[str, Result], new: dict[str, Result]) -> str:
    out: list[str] = []
    header = ["figure", "ratio old", "ratio new", "change", "old", "new", "change"]
    for suite in [*new, *(s for s in old if s not in new)]:
        if suite not in new or suite not in old:
            out.append(f"== {suite}: only in {'OLD' if suite in old else 'NEW'}\n")
            continue
        out.append(f"== {suite}\n   old: {old[suite].provenance()}\n   new: {new[suite].provenance()}")
        lines = [header, *compare_rows(old[suite].rows, new[suite].rows)]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            cells = [line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True))]
            out.append("  ".join(cells).rstrip())
        out += [f"  {line}" for line in call_changes(old[suite].rows, new[suite].rows)]
        out.append("")
    return "\n".join(out)


def call_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Which operations a changed call count gained or lost (rows that list their calls)."""
    before = {entry["what"]: entry.get("calls") for entry in old}
    lines = []
    for entry in new:
        was, now = before.get(entry["what"]), entry.get("calls")
        if was is None or now is None or was == now:
            continue
        moved = [
            f"{operation} {was.get(operation, 0)} -> {now.get(operation, 0)}"
            for operation in sorted({*was, *now})
            if was.get(operation, 0) != now.get(operation, 0)
        ]
        lines.append(f"{entry['what']}: {', '.join(moved)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="a result file or a folder of them")
    parser.add_argument("new", type=Path, help="a result file or a folder of them")
    args = parser.parse_args(argv)
    for path in (args.old, args.new):
        if not path.exists():
            print(f"compare: {path}: no such file or folder", file=sys.stderr)
            return 2
    old, new = load_all(args.old), load_all(args.new)
    if args.old.is_file() and args.new.is_file() and len(old) == len(new) == 1:
        # two files of one suite under different names (results saved aside): compare them
        (suite,) = new
        old = {suite: next(iter(old.values()))}
    print(render(old, new), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
