#!/usr/bin/env bash
# The benchmarks command: prepares the machine exactly as the tests do (scripts/test.sh: apt
# packages, .venv, dockerd, the loopback registry with the stand-in image), then runs
# benchmarks/run.py inside a loopback-only network namespace.
# Usage: bash scripts/bench.sh [SUITE...] [--repeat N]   (suites: benchmarks/suites/__init__.py;
# results: benchmarks/results/<suite>.json, compared by benchmarks/compare.py, shown in the
# README by benchmarks/report.py)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ISAACCTL_RUN=benchmarks exec bash scripts/test.sh "$@"
