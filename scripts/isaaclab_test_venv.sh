#!/usr/bin/env bash
# Builds (once) the real Isaac Lab 3.0.0 virtual environment the pip runtime's tests run:
# ../shared/isaaclab-offline/README.md's wheel set, kit-less, for training Isaac-Cartpole on
# the CPU. Called by scripts/test.sh; also usable alone. Usage:
#   bash scripts/isaaclab_test_venv.sh            # prints the venv's python when it is ready
#
# Where (ISAACCTL_TEST_ISAACLAB_CACHE, default /var/cache/isaacctl-test-isaaclab):
#   python3.12/   a copy of pyenv's 3.12 whose library path is made relative ($ORIGIN): pyenv's
#                 own lives under /root (0700), which the loopback sshd's test user cannot enter
#   venv/         the venv (~5.6 GB: torch's CUDA build is the only Linux x86_64 wheel on PyPI)
#   wheels/       pip's download cache for these packages (kept, so a rebuild is offline-fast)
# The venv is outside the checkout on purpose (size), and rebuilt only when the package list
# below or the base Python changes (a stamp holds their digest; it is written last, so an
# interrupted build is redone rather than trusted).
#
# Needs: Python 3.12 (isaaclab 3.0.0 requires >=3.12,<3.13) from pyenv, or ISAACCTL_TEST_PYTHON312
# pointing at another 3.12 installation prefix; PyPI reachable (the build is the one step that
# uses the network; the tests themselves run offline). Missing 3.12: exit 3 with a message, and
# the pip runtime's real-Isaac-Lab tests skip saying why.
set -euo pipefail

CACHE="${ISAACCTL_TEST_ISAACLAB_CACHE:-/var/cache/isaacctl-test-isaaclab}"
SOURCE="${ISAACCTL_TEST_PYTHON312:-}"
log() { printf '[isaaclab venv %3ds] %s\n' "$SECONDS" "$*" >&2; }

if [ -z "$SOURCE" ]; then
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.* /root/.pyenv/versions/3.12.*; do
        [ -x "$candidate/bin/python3.12" ] && SOURCE="$candidate" && break
    done
fi
if [ -z "$SOURCE" ] || [ ! -x "$SOURCE/bin/python3.12" ]; then
    log "no Python 3.12 found (pyenv's versions/3.12.*, or ISAACCTL_TEST_PYTHON312=<prefix>): cannot build"
    exit 3
fi

# Torch first, with its dependencies (the nvidia-* libraries `import torch` loads even on a
# CPU); then what Isaac Lab's Cartpole run imports, unpinned, with dependencies; then the
# pinned set that worked together, with --no-deps (isaaclab's full dependency list pulls in
# open3d, transformers, pinocchio, ... that a Cartpole run never imports).
WITH_DEPS=(torch==2.11.0 numpy tensorboard onnx onnxscript lazy-loader pyyaml filelock jinja2 psutil einops
           pyopengl glfw imageio tqdm requests pillow absl-py rich)
NO_DEPS=(isaaclab==3.0.0 newton==1.6.1 warp-lang==1.17.0 mujoco==3.12.0 mujoco-warp==3.12.0
         newton-usd-schemas==0.6.0 usd-exchange==3.0.1 rsl-rl-lib==5.5.1 tensordict==0.15.3 pyvers==0.2.3
         hydra-core==1.3.8 omegaconf==2.3.0 antlr4-python3-runtime==4.9.3 gymnasium==1.4.0
         farama-notifications==0.0.6 prettytable==3.18.0 wcwidth==0.9.4 gitpython==3.2.1 gitdb==4.0.12
         smmap==5.0.3 cloudpickle importlib-metadata zipp
         pyglet==2.1.19 moviepy==1.0.3 decorator==4.4.2 proglog==0.1.12 imageio-ffmpeg==0.5.1)

PY="$CACHE/python3.12"
VENV="$CACHE/venv"
want="$(printf '%s\n' 2 "$SOURCE" "${WITH_DEPS[@]}" -- "${NO_DEPS[@]}" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$VENV/.isaacctl-stamp" 2>/dev/null || true)" = "$want" ] && "$VENV/bin/python" -c 'import isaaclab' 2>/dev/null; then
    echo "$VENV/bin/python"
    exit 0
fi

mkdir -p "$CACHE"
chmod 755 "$CACHE"
if [ "$(cat "$PY/.isaacctl-source" 2>/dev/null || true)" != "$SOURCE" ]; then
    log "copying $SOURCE to $PY (readable by every user)"
    rm -rf "$PY" "$PY.tmp"
    cp -a "$SOURCE" "$PY.tmp"
    command -v patchelf >/dev/null || {
        log "installing patchelf"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >/dev/null; }
    # pyenv links libpython by an absolute RUNPATH under the source prefix
    # shellcheck disable=SC2016  # $ORIGIN is for the dynamic loader, not the shell
    patchelf --set-rpath '$ORIGIN/../lib' "$PY.tmp/bin/python3.12"
    chmod -R a+rX "$PY.tmp"
    echo "$SOURCE" >"$PY.tmp/.isaacctl-source"
    mv "$PY.tmp" "$PY"
fi
"$PY/bin/python3.12" -c 'import sys, ssl; assert sys.version_info[:2] == (3, 12)' ||
    { log "the copied Python 3.12 does not start"; exit 3; }

log "building $VENV (torch 2.11.0 and the Isaac Lab 3.0.0 wheel set; first time: a few minutes)"
rm -rf "$VENV"
"$PY/bin/python3.12" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --cache-dir "$CACHE/pip-cache"
     --find-links "$CACHE/wheels")
"${pip[@]}" --upgrade pip setuptools wheel
"${pip[@]}" "${WITH_DEPS[@]}"
"${pip[@]}" --no-deps "${NO_DEPS[@]}"
# usd-exchange ships pxr; usd-core would shadow it
"$VENV/bin/python" -m pip uninstall --quiet -y usd-core 2>/dev/null || true
chmod -R a+rX "$VENV"
"$VENV/bin/python" -c 'import isaaclab, importlib.metadata as m; print("isaaclab", m.version("isaaclab"))' >&2
echo "$want" >"$VENV/.isaacctl-stamp"
log "ready: $VENV/bin/python ($(du -sh "$VENV" | cut -f1))"
echo "$VENV/bin/python"
