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
for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done; ldconfig
cd /root/h200 && sha256sum -c SHA256SUMS || exit 1
if [ ! -d /root/site/isaaclab ]; then
    mkdir -p /root/site && cat bundle.tar.xz.part-* | tar -C /root/site -xJf - || exit 1
fi
cd "$REPO"
# The machine's python3 is a venv holding PyTorch: a venv made from it would not see torch, so
# the bundle is appended to its own site-packages with a .pth (what the machine has wins).
PY=$(command -v python3)
echo /root/site/isaaclab > "$($PY -c 'import site; print(site.getsitepackages()[0])')/zz_isaaclab_bundle.pth"
# isaacctl itself, installed for its entry points (the providers are found through them); its
# dependencies the machine lacks come from the bundle, appended the same way.
echo /root/site/isaacctl > "$($PY -c 'import site; print(site.getsitepackages()[0])')/zz_isaacctl_bundle.pth"
$PY -m pip install --quiet --no-deps --no-index --no-build-isolation -e "$REPO" || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
$PY -c 'import isaaclab, torch, importlib.metadata as m; print("isaaclab", m.version("isaaclab"), "torch", torch.__version__, "cuda", torch.cuda.is_available())'
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
