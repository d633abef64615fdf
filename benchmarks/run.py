"""isaacctl's benchmarks, one command: `python benchmarks/run.py [SUITE...]`.

Each suite prints its figures beside a reference measured in the same run (plain Python
start-up, rsync, plain ssh, ...), so a slow machine shows as a slow reference, not as a
regression. Results also land in benchmarks/results/<suite>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from suites import SUITES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", choices=[[], *SUITES], help="default: all")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per figure")
    args = parser.parse_args()
    chosen = args.suites or list(SUITES)
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        rows = SUITES[name](repeat=args.repeat)
        width = max(len(row["what"]) for row in rows)
        for row in rows:
            ratio = f"  ({row['ratio']:.2f}x {row['against']})" if row.get("ratio") else ""
            goal = f"  goal {row['goal']}" if row.get("goal") else ""
            print(f"{row['what']:<{width}}  {row['value']:>9.3f} {row['unit']}{ratio}{goal}")
        (results_dir / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
