"""benchmarks/compare.py and benchmarks/report.py, run as a person runs them, on result files
written here (the current format, with provenance, and the bare list of rows written before)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import report  # noqa: E402  the markers it writes between


def _tool(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / name), *map(str, args)], capture_output=True, text=True, timeout=60
    )


def _write(path: Path, rows: list[dict], commit: str = "", date: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    suite = path.stem
    data = (
        {"suite": suite, "commit": commit, "dirty": False, "date": date, "machine": {"cpus": 2}, "rows": rows}
        if commit
        else rows
    )
    path.write_text(json.dumps(data))
    return path


def _calls(what: str, value: int, calls: dict[str, int], place: tuple[str, str] | None = None) -> dict:
    entry = {"what": what, "value": value, "unit": "calls", "calls": calls}
    return entry | ({"table": {"row": place[0], "column": place[1]}} if place else {})


def _seconds(what: str, value: float, ratio: float | None = None, place: tuple[str, str] | None = None) -> dict:
    entry: dict = {"what": what, "value": value, "unit": "s"}
    if ratio is not None:
        entry |= {"ratio": ratio, "against": "aws, 1 node deploy"}
    return entry | ({"table": {"row": place[0], "column": place[1]}} if place else {})


def test_compare_shows_ratio_then_value_changes_and_which_calls_moved(tmp_path: Path) -> None:
    old = _write(
        tmp_path / "old" / "deploy_calls.json",
        [
            _calls("aws deploy calls", 28, {"DescribeVpcs": 5, "RunInstances": 1}),
            _seconds("aws deploy time", 0.40, ratio=2.0),
            _seconds("gone figure", 1.0),
        ],
    )
    new = _write(
        tmp_path / "new" / "deploy_calls.json",
        [
            _calls("aws deploy calls", 21, {"DescribeVpcs": 3, "DescribeTags": 1, "RunInstances": 1}),
            _seconds("aws deploy time", 0.30, ratio=1.5),
            _seconds("added figure", 2.0),
        ],
        commit="0123456789abcdef",
        date="2026-12-01T22:00:00+00:00",
    )
    for args in ((old, new), (old.parent, new.parent)):
        done = _tool("compare.py", *args)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        timing = next(line for line in lines if line.startswith("aws deploy time"))
        assert timing.split() == ["aws", "deploy", "time", "2.00x", "1.50x", "-25%", "0.400", "s", "0.300", "s", "-25%"]
        calls = next(line for line in lines if line.startswith("aws deploy calls"))
        assert calls.split()[-3:] == ["28", "21", "-25%"]
        # the figure with a same-run ratio comes before the plain values
        assert lines.index(timing) < lines.index(calls)
        assert "added" in next(line for line in lines if line.startswith("added figure"))
        assert "gone" in next(line for line in lines if line.startswith("gone figure"))
        moved = next(line for line in lines if line.strip().startswith("aws deploy calls:"))
        assert "DescribeTags 0 -> 1" in moved and "DescribeVpcs 5 -> 3" in moved and "RunInstances" not in moved
        assert "new: 0123456789" in done.stdout  # provenance of the run that has it


def test_compare_names_a_missing_input(tmp_path: Path) -> None:
    done = _tool("compare.py", tmp_path / "nothing", tmp_path)
    assert done.returncode == 2
    assert "nothing" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_report_rewrites_only_between_the_markers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    place = ("gcp, 1 node", "deploy calls")
    _write(
        results / "deploy_calls.json",
        [
            _calls("gcp deploy", 17, {"instances.insert": 1}, place),
            _seconds("gcp time", 0.35, ratio=1.3, place=("gcp, 1 node", "deploy s")),
        ],
        commit="feedfacecafe0000",
        date="2026-12-01T22:00:00+00:00",
    )
    _write(results / "startup.json", [_seconds("isaacctl --help", 0.16, ratio=8.0) | {"goal": "<= 0.15 s"}])
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nprose before\n\n{report.BEGIN}\nold table\n{report.END}\n\nprose after\n")

    assert _tool("report.py", "--results", results, "--readme", readme, "--check").returncode == 1
    done = _tool("report.py", "--results", results, "--readme", readme)
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    assert text.startswith("# title\n\nprose before\n\n") and text.endswith(f"{report.END}\n\nprose after\n")
    assert "old table" not in text
    assert "| | deploy calls | deploy s |" in text
    assert "| gcp, 1 node | 17 | 0.350 s (1.30x) |" in text
    assert "feedfaceca" in text  # which commit the figures are from
    assert "| isaacctl --help | 0.160 s | 8.00x aws, 1 node deploy | <= 0.15 s |" in text
    assert text.index("**deploy_calls**") < text.index("**startup**")
    assert _tool("report.py", "--results", results, "--readme", readme, "--check").returncode == 0
    before = text
    assert _tool("report.py", "--results", results, "--readme", readme).returncode == 0
    assert readme.read_text() == before  # a second run changes nothing


def test_report_refuses_a_readme_without_markers(tmp_path: Path) -> None:
    results = _write(tmp_path / "results" / "aws.json", [_calls("deploy", 28, {})]).parent
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    done = _tool("report.py", "--results", results, "--readme", readme)
    assert done.returncode == 2 and "--readme" in done.stderr
    assert readme.read_text() == "# no markers\n"
