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

# The cache pre-warm (bootstrap's prewarm step) holds this lock while it compiles, taken before
# its pid is written (so before bootstrap returns); a job waits for it, as compiling the same
# kernels again beside it would take longer than the wait.
cache_lock="${WARP_CACHE_PATH:-$HOME/.cache/warp}/.isaacctl-prewarm.lock"
if [ -n "${ISAACCTL_PREWARM:-}" ]; then
  mkdir -p "${cache_lock%/*}" && exec 9>"$cache_lock" && flock -x 9
fi

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

# A job started while the cache pre-warm runs waits for it. In the background and `wait`: a
# signal (cancel) ends the wait at once, and the job then never starts.
if [ -z "${ISAACCTL_PREWARM:-}" ] && [ -e "$cache_lock" ] && command -v flock >/dev/null && exec 9<"$cache_lock"; then
  if ! flock -n -s 9; then
    echo "[isaacctl] waiting for the cache pre-warm to finish (then this job starts warm)"
    trap 'finish 130' INT TERM HUP
    flock -w 900 -s 9 &
    wait "$!" || echo "[isaacctl] the pre-warm still runs after 900 s: starting anyway"
  fi
  exec 9<&-
fi

# A handler, not an ignore: ignored signals stay ignored in the child, and Isaac Lab must see
# the SIGINT that `isaacctl cancel` sends to the whole group (this runner included).
trap ':' INT TERM HUP
echo "[isaacctl] running: $*"
# In the foreground: a background job of a non-interactive bash would ignore SIGINT.
status=0
"$@" || status=$?
finish "$status"
