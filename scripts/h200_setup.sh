# shellcheck shell=bash
# Sourced by scripts/h200_*_run.sh on the lent H200, from the repository root, after the bundle
# parts (scripts/h200_bundle.sh) were copied to /root/h200: the GL and rsync packages from .gl/,
# the bundle appended to the machine's Python, isaacctl installed for its entry points.
# Leaves PY (that Python) and C (the isaacctl command line) set.
for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done; ldconfig
cd /root/h200 && sha256sum -c SHA256SUMS || return 1
if [ ! -d /root/site/isaaclab ]; then
    mkdir -p /root/site && cat bundle.tar.xz.part-* | tar -C /root/site -xJf - || return 1
fi
cd "$REPO" || return 1
# The machine's python3 is a venv holding PyTorch: a venv made from it would not see torch, so
# the bundle is appended to its own site-packages with a .pth (what the machine has wins).
PY=$(command -v python3)
echo /root/site/isaaclab > "$($PY -c 'import site; print(site.getsitepackages()[0])')/zz_isaaclab_bundle.pth"
# isaacctl itself, installed for its entry points (the providers are found through them); its
# dependencies the machine lacks come from the bundle, appended the same way.
echo /root/site/isaacctl > "$($PY -c 'import site; print(site.getsitepackages()[0])')/zz_isaacctl_bundle.pth"
$PY -m pip install --quiet --no-deps --no-index --no-build-isolation -e "$REPO" || return 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
$PY -c 'import isaaclab, torch, importlib.metadata as m; print("isaaclab", m.version("isaaclab"), "torch", torch.__version__, "cuda", torch.cuda.is_available())'
