#!/usr/bin/env bash
# Packs what a lent GPU machine without network needs to run the pip runtime against the real
# Isaac Lab 3.0.0 (it has Python 3.12 and torch 2.11.0; see docs/real-runs.md): the Isaac Lab
# wheel set (scripts/isaaclab_test_venv.sh's, less torch) and isaacctl's own dependencies,
# installed with --no-deps --target for Python 3.12, in one tar.xz split into parts of at most
# 60 MiB under build/h200/ (ignored by git, so the device tool can carry one part per call).
# Usage: bash scripts/h200_bundle.sh    (needs PyPI here, and Python 3.12: the test venv's copy)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ISAACCTL_TEST_ISAACLAB_CACHE:-/var/cache/isaacctl-test-isaaclab}"
PY="${PY312:-$CACHE/python3.12/bin/python3.12}"
OUT="$ROOT/build/h200"
rm -rf "$OUT" && mkdir -p "$OUT/site"
# The Isaac Lab set (torch's own dependencies are on the machine with torch).
ISAACLAB=(isaaclab==3.0.0 newton==1.6.1 warp-lang==1.17.0 mujoco==3.12.0 mujoco-warp==3.12.0
          newton-usd-schemas==0.6.0 usd-exchange==3.0.1 rsl-rl-lib==5.5.1 tensordict==0.15.3 pyvers==0.2.3
          hydra-core==1.3.8 omegaconf==2.3.0 antlr4-python3-runtime==4.9.3 gymnasium==1.4.0
          farama-notifications==0.0.6 prettytable==3.18.0 wcwidth==0.9.4 gitpython==3.2.1 gitdb==4.0.12
          smmap==5.0.3 cloudpickle importlib-metadata zipp rich markdown-it-py mdurl pygments
          tensorboard tensorboard-data-server markdown werkzeug absl-py grpcio protobuf
          onnx onnxscript onnx-ir ml-dtypes lazy-loader einops psutil pyyaml numpy
          pyglet==2.1.19 moviepy==1.0.3 decorator==4.4.2 proglog==0.1.12 imageio-ffmpeg==0.5.1
          imageio pillow tqdm requests charset-normalizer idna urllib3 certifi pyopengl glfw)
# isaacctl's own (pyproject.toml), for `python3.12 -m isaacctl` there.
ISAACCTL=(typer==0.25.* click rich pydantic pydantic-core annotated-types typing-inspection
          typing-extensions paramiko bcrypt cryptography cffi pycparser pynacl invoke filelock
          tenacity pyyaml shellingham)
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --cache-dir "$CACHE/pip-cache" --target "$OUT/site/isaaclab" "${ISAACLAB[@]}"
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --cache-dir "$CACHE/pip-cache" --target "$OUT/site/isaacctl" "${ISAACCTL[@]}"
XZ_OPT="${XZ_OPT:--T0 -6}" tar -C "$OUT/site" -cJf "$OUT/bundle.tar.xz" isaaclab isaacctl
rm -rf "$OUT/site"
(cd "$OUT" && split -b 60M -d bundle.tar.xz bundle.tar.xz.part- && rm bundle.tar.xz &&
 sha256sum bundle.tar.xz.part-* >SHA256SUMS && cat bundle.tar.xz.part-* | sha256sum | cut -d' ' -f1 >WHOLE.sha256)
ls -la "$OUT"
