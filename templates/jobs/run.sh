#!/usr/bin/env bash
# isaacctl's job runner, PID 1 of a job's container. Usage: run.sh COMMAND [ARGS...]
# - output goes to the container log (isaacctl logs) and to /isaacctl/job/output.txt;
# - an --extension in /isaacctl/job/extension/ is pip-installed first;
# - SIGINT/SIGTERM are forwarded to the whole job process group: as PID 1, bash would otherwise
#   ignore them, and isaaclab.sh does not pass them on to python.
set -uo pipefail
job=/isaacctl/job
exec > >(tee -i -a "${job}/output.txt") 2>&1
tee_pid=$!

# The last lines must reach output.txt before the container (and tee with it) is gone.
finish() {
  echo "[isaacctl] exit status $1"
  exec >&- 2>&-
  wait "${tee_pid}" 2>/dev/null
  exit "$1"
}

cd /workspace/isaaclab || finish 70
if [ -d "${job}/extension" ]; then
  for package in "${job}"/extension/*; do
    echo "[isaacctl] installing extension ${package##*/}"
    ./isaaclab.sh -p -m pip install --no-deps "${package}" || { echo "[isaacctl] extension install failed"; finish 71; }
  done
fi

echo "[isaacctl] running: $*"
setsid "$@" &
child=$!
# shellcheck disable=SC2317  # called from the traps below
forward() { kill "-$1" -- "-${child}" 2>/dev/null || kill "-$1" "${child}" 2>/dev/null; }
trap 'forward INT' INT
trap 'forward TERM' TERM

status=0
wait "${child}" || status=$?
# A trapped signal ends `wait` early: wait again until the job itself has ended.
while kill -0 "${child}" 2>/dev/null; do
  status=0
  wait "${child}" || status=$?
done
finish "${status}"
