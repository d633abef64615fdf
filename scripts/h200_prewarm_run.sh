#!/usr/bin/env bash
# Bootstrap's cache pre-warm against the REAL Isaac Lab 3.0.0 on a lent H200 (issue 18): three
# fresh deployments of the pip runtime on this machine, each with an empty cache folder.
#   warm-after:  deploy (the pre-warm starts, on by default on a GPU host), wait for it to end,
#                then the first job;
#   warm-at-once: deploy, then the first job at once (it waits for the running pre-warm);
#   cold:        deploy --no-prewarm, then the first job (what every first job was before).
# Seconds count from `train`'s start, as lines reached the terminal through --follow.
# Run from the repository root after the bundle parts were copied to /root/h200.
set -uo pipefail
OUT="${OUT:-/tmp/out}"; mkdir -p "$OUT"
REPO="$PWD"
stamp() { python3 -u -c 'import sys,time
t=time.time()
for line in sys.stdin: print(f"{time.time()-t:7.1f}s {line}", end="", flush=True)'; }
{
echo "== setup"; date -u
. scripts/h200_setup.sh || exit 1
export ISAACCTL_STATE_DIR=/root/state-prewarm
C="$PY -m isaacctl"
deploy() {  # NAME [FLAGS...]
  local name=$1; shift
  rm -rf "/root/pw-$name"
  $C deploy local --name "$name" --host-dir "/root/pw-$name" --runtime pip --isaaclab-python "$PY" \
     --asset-root "$REPO/tests/isaaclab_assets/assetroot" --allow-low-disk "$@" 2>&1 | tail -n 3
}
first_job() {  # NAME
  $C train -d "$1" --task Isaac-Cartpole --num-envs 64 --max-iterations 3 --follow 2>&1 | stamp \
    | grep -E "waiting for the cache|Learning iteration|Simulation start|exit status" 
}
echo "== warm-after: deploy, wait for the pre-warm, first job"
deploy warmafter
start=$(date +%s.%N)
while [ ! -e /root/pw-warmafter/cache/prewarm/exit-status ]; do sleep 0.5; done
echo "pre-warm ended $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s after deploy returned, exit $(cat /root/pw-warmafter/cache/prewarm/exit-status)"
grep -E "Learning iteration|Simulation start" /root/pw-warmafter/cache/prewarm/output.txt | head -3
first_job warmafter
echo "== warm-at-once: deploy, first job at once"
deploy warmnow
first_job warmnow
echo "== cold: deploy --no-prewarm, first job"
deploy cold --no-prewarm
first_job cold
$C status warmnow | grep -i -E "prewarm|step" || true
date -u
} 2>&1 | tee "$OUT/prewarm.txt"
