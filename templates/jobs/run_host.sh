#!/usr/bin/env bash
# isaacctl's job runner for the pip runtime (Isaac Lab in a Python environment on the host).
# Started as `setsid run.sh JOB_DIR PYTHON -m isaaclab ...`: it leads its own session and
# process group, so the job outlives the SSH session and `kill -- -PGID` reaches every process
# of the job (torchrun's ranks too). Usage: run.sh JOB_DIR COMMAND [ARGS...]
# - JOB_DIR/pid: "<pid> <start time in clock ticks>" (the start time tells a reused pid apart);
# - JOB_DIR/output.txt: all output; JOB_DIR/exit-status: the exit status, written last;
# - an --extension in JOB_DIR/extension/ is pip-installed into JOB_DIR/site (on PYTHONPATH),
#   not into the environment, which may be a researcher's own.
set -uo pipefail
job=$1
shift
cd "$job" || exit 70
exec >>"$job/output.txt" 2>&1 </dev/null

stat=$(<"/proc/$$/stat")
read -r -a fields <<<"${stat##*) }"
echo "$$ ${fields[19]}" >"$job/pid.tmp" && mv "$job/pid.tmp" "$job/pid"

finish() {
  echo "[isaacctl] exit status $1"
  echo "$1" >"$job/exit-status.tmp" && mv "$job/exit-status.tmp" "$job/exit-status"
  exit "$1"
}

# Isaac Lab writes ./logs relative to its working directory: the job folder's logs/.
if [ -d "$job/extension" ]; then
  for package in "$job"/extension/*; do
    echo "[isaacctl] installing extension ${package##*/}"
    "$1" -m pip install --no-deps --target "$job/site" "$package" ||
      { echo "[isaacctl] extension install failed"; finish 71; }
  done
  export PYTHONPATH="$job/site${PYTHONPATH:+:$PYTHONPATH}"
fi

# A handler, not an ignore: ignored signals stay ignored in the child, and Isaac Lab must see
# the SIGINT that `isaacctl cancel` sends to the whole group (this runner included).
trap ':' INT TERM HUP
echo "[isaacctl] running: $*"
# In the foreground: a background job of a non-interactive bash would ignore SIGINT.
status=0
"$@" || status=$?
finish "$status"
