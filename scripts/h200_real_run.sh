#!/usr/bin/env bash
# The product against the REAL Isaac Lab 3.0.0 on a lent H200 (no network there): the pip
# runtime adopting an environment made from scripts/h200_bundle.sh's parts, then train (cold and
# warm start, 4096 envs), jobs, logs, fetch-logs, metrics and evaluate with a video.
# Run on the device machine from the repository root, after the parts were copied to /root/h200.
# Writes the transcript and figures to $OUT (docs/real-runs.md keeps what one run showed).
set -uo pipefail
OUT="${OUT:-/tmp/out}"; mkdir -p "$OUT"
REPO="$PWD"
stamp() { python3 -u -c 'import sys,time
t=time.time()
for line in sys.stdin: print(f"{time.time()-t:7.1f}s {line}", end="", flush=True)'; }
{
echo "== setup"; date -u
. scripts/h200_setup.sh || exit 1
export ISAACCTL_STATE_DIR=/root/state
C="$PY -m isaacctl"
echo "== deploy"
$C deploy local --name h200 --host-dir /root/isaacctl --runtime pip --isaaclab-python "$PY" \
   --asset-root "$REPO/tests/isaaclab_assets/assetroot" --allow-low-disk
for run in "cold 64" "warm 64" "warm 4096"; do
  set -- $run
  echo "== train ($1 caches, $2 envs)"
  $C train -d h200 --task Isaac-Cartpole --num-envs "$2" --max-iterations 10 --follow 2>&1 | stamp
done
echo "== jobs"; $C jobs -d h200
echo "== logs last --tail 25"; $C logs last --tail 25
echo "== fetch-logs"; $C fetch-logs -d h200
echo "== metrics last"; $C metrics last
echo "== evaluate --checkpoint latest --video"
$C evaluate -d h200 --task Isaac-Cartpole --checkpoint latest --num-envs 16 --video --video-length 50 --follow 2>&1 | stamp
echo "== status"; $C status h200
date -u
} 2>&1 | tee "$OUT/transcript.txt"
tar -C /root/state/h200 -czf "$OUT/artifacts.tgz" artifacts 2>/dev/null || true
