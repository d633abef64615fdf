#!/usr/bin/env bash
# The benchmarks command: prepares the machine exactly as the tests do (scripts/test.sh: apt
# packages, .venv, dockerd, the loopback registry with the stand-in image), then runs
# benchmarks/run.py inside a loopback-only network namespace.
# Usage: bash scripts/bench.sh [SUITE...] [--repeat N]     (suites: startup bootstrap jobs aws)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ISAACCTL_RUN=benchmarks exec bash scripts/test.sh "$@"
