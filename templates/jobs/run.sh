#!/usr/bin/env bash
# isaacctl's job runner, PID 1 of a job's container. Usage: run.sh COMMAND [ARGS...]
# - output goes to the container log (isaacctl logs) and to $ISAACCTL_JOB_DIR/output.txt;
# - an --extension in $ISAACCTL_JOB_DIR/extension/ is pip-installed first, with the Isaac Lab
#   generation's own pip ($ISAACCTL_PIP: `./isaaclab.sh -p -m pip` on 2.x, `python -m pip` on 3.x);
# - Isaac Lab runs from $ISAACCTL_WORKDIR: its logs/ are relative to the working directory;
# - SIGINT/SIGTERM are forwarded to the whole job process group: as PID 1, bash would otherwise
#   ignore them, and isaaclab.sh does not pass them on to python.
set -uo pipefail
job=${ISAACCTL_JOB_DIR:-/isaacctl/job}
exec > >(tee -i -a "${job}/output.txt") 2>&1
tee_pid=$!

# The last lines must reach output.txt before the container (and tee with it) is gone.
finish() {
  echo "[isaacctl] exit status $1"
  exec >&- 2>&-
  wait "${tee_pid}" 2>/dev/null
  exit "$1"
}

# Set by isaacctl from the generation (isaaclab/generation.py ContainerLayout.runner_env): a
# guess here would run a 3.x image's job from the wrong folder or with a pip that is not there.
if [ -z "${ISAACCTL_WORKDIR:-}" ] || [ -z "${ISAACCTL_PIP:-}" ]; then
  echo "[isaacctl] ISAACCTL_WORKDIR and ISAACCTL_PIP must be set"
  finish 70
fi
cd "${ISAACCTL_WORKDIR}" || finish 70
read -r -a pip <<<"${ISAACCTL_PIP}"
if [ -d "${job}/extension" ]; then
  for package in "${job}"/extension/*; do
    echo "[isaacctl] installing extension ${package##*/}"
    "${pip[@]}" install --no-deps "${package}" || { echo "[isaacctl] extension install failed"; finish 71; }
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
