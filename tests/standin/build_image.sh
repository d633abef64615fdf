#!/usr/bin/env bash
# Build isaacctl's stand-in for the Isaac Lab container image (a test double).
#
#   tests/standin/build_image.sh [--generation 2|3] IMAGE_REF
#
# --generation 3 builds the Isaac Lab 3.x stand-in (the `isaaclab` command, uid 1000, kit-less);
# the default, 2, the 2.x one. Both share the base and every layer up to the last step.
#
# 1. Base rootfs: Debian bookworm minbase + python3 (+ pip, procps) made with
#    debootstrap, imported as isaacctl-standin-base:bookworm. Cached twice:
#    the base image itself (skipped if present with the same package key) and
#    the rootfs tarball under $STANDIN_CACHE_DIR (default /var/cache/isaacctl-test).
# 2. `docker build` of tests/standin/Dockerfile FROM that base (no pulls, no
#    network), tagged IMAGE_REF. Nothing is pushed.
#
# Environment knobs:
#   STANDIN_CACHE_DIR      where rootfs tarballs and downloaded .debs are kept
#   STANDIN_DEBIAN_MIRROR  Debian mirror for debootstrap (build time only)
#   STANDIN_REBUILD_BASE=1 ignore both caches and run debootstrap again
#   STANDIN_TORCH_WHEEL    the torch CPU wheel for Python 3.11 (default: /opt/wheels/torch-*+cpu-cp311-*.whl)
#   STANDIN_TORCH_DEPS     a folder of its dependencies' wheels (default: $STANDIN_CACHE_DIR/torch-deps,
#                          filled once with `pip download` when PyPI is reachable)
#   STANDIN_NO_TORCH=1     build without torch (the distributed tests then skip)
#
# torch is there for the distributed path only: torchrun and torch.distributed (gloo on the
# CPU) are the real ones, so ranks really rendezvous. It costs ~190 MB of wheel, ~0.7 GB
# installed, one layer shared by both generations' images and built once (layer cache).
set -euo pipefail

GENERATION=2
if [[ "${1:-}" == "--generation" ]]; then
    GENERATION=${2:-}
    shift 2 || true
fi
if [[ $# -ne 1 || -z "$1" || ! "$GENERATION" =~ ^[23]$ ]]; then
    echo "usage: $0 [--generation 2|3] IMAGE_REF" >&2
    exit 2
fi
IMAGE_REF=$1
if [[ "$GENERATION" == 3 ]]; then
    BUILD_ARGS=(--build-arg STANDIN_GENERATION=3 --build-arg STANDIN_USER=1000:1000)
else
    BUILD_ARGS=(--build-arg STANDIN_GENERATION=2 --build-arg STANDIN_USER=root)
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE_REF=isaacctl-standin-base:bookworm
SUITE=bookworm
VARIANT=minbase
# python3 (not just python3-minimal): the stand-in needs zlib, json, struct, zipfile...
# python3-pip: `./isaaclab.sh -p -m pip install <local package>` works offline.
# procps: `docker exec <c> pkill -INT -f train.py` works as in the real image.
PACKAGES=python3-minimal,python3,python3-pip,procps
# Bump when the rootfs post-processing below changes.
ROOTFS_RECIPE=2
MIRROR=${STANDIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${STANDIN_CACHE_DIR:-/var/cache/isaacctl-test}

export DOCKER_BUILDKIT=0  # legacy builder: uses the local base image, never a registry

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[build_image] $*"; }

T_START=$(now)
KEY=$(printf '%s\n' "$SUITE" "$VARIANT" "$PACKAGES" "recipe=$ROOTFS_RECIPE" | sha256sum | cut -c1-16)
TARBALL=$CACHE_DIR/standin-rootfs-$SUITE-$KEY.tar

base_key() {
    docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$BASE_REF" 2>/dev/null \
        | sed -n 's/^ISAACCTL_STANDIN_ROOTFS_KEY=//p'
}

make_rootfs_tarball() {
    local root
    mkdir -p "$CACHE_DIR/debs"
    root=$(mktemp -d "${TMPDIR:-/tmp}/isaacctl-standin-rootfs.XXXXXX")
    # shellcheck disable=SC2064  # expand $root now
    trap "rm -rf '$root'" EXIT
    log "debootstrap --variant=$VARIANT --include=$PACKAGES $SUITE (mirror $MIRROR)"
    local t0
    t0=$(now)
    if ! debootstrap --variant="$VARIANT" --include="$PACKAGES" --cache-dir="$CACHE_DIR/debs" \
            "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1; then
        tail -n 40 "$root.log" >&2
        rm -f "$root.log"
        exit 1
    fi
    rm -f "$root.log"
    log "debootstrap done in $(elapsed "$t0") s"
    # Slim the rootfs: package caches, apt lists, docs, man pages, translations.
    rm -rf "${root:?}"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
        "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
        "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log \
        "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
    find "$root/usr/lib/python3" "$root/usr/lib/python3.11" -name __pycache__ -type d -prune -exec rm -rf {} +
    t0=$(now)
    mkdir -p "$CACHE_DIR"
    tar -C "$root" --numeric-owner -cf "$TARBALL.tmp.$$" .
    mv -f "$TARBALL.tmp.$$" "$TARBALL"
    rm -rf "$root"
    trap - EXIT
    log "rootfs tarball $TARBALL ($(du -h "$TARBALL" | cut -f1)) in $(elapsed "$t0") s"
}

# ---- 1. base image -------------------------------------------------------
T_BASE=$(now)
if [[ "${STANDIN_REBUILD_BASE:-0}" != 1 && "$(base_key)" == "$KEY" ]]; then
    log "base image $BASE_REF is cached (key $KEY)"
else
    if [[ "${STANDIN_REBUILD_BASE:-0}" == 1 || ! -s "$TARBALL" ]]; then
        make_rootfs_tarball
    else
        log "reusing cached rootfs tarball $TARBALL"
    fi
    docker import \
        --change "ENV ISAACCTL_STANDIN_ROOTFS_KEY=$KEY" \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV LANG=C.UTF-8" \
        --change 'CMD ["bash"]' \
        --message "isaacctl stand-in base: debootstrap $VARIANT $SUITE + $PACKAGES" \
        "$TARBALL" "$BASE_REF" >/dev/null
    log "imported $BASE_REF"
fi
log "base stage: $(elapsed "$T_BASE") s"

# ---- 1b. torch for the distributed path ----------------------------------
TORCH_DEPS=(filelock typing-extensions sympy mpmath networkx jinja2 markupsafe fsspec)
STAGE=$HERE/.torch-wheels
stage_torch() {
    rm -rf "$STAGE"
    mkdir -p "$STAGE"
    [[ "${STANDIN_NO_TORCH:-0}" == 1 ]] && { log "STANDIN_NO_TORCH=1: no torch in the image"; return; }
    local wheel=${STANDIN_TORCH_WHEEL:-}
    if [[ -z "$wheel" ]]; then
        wheel=$(find /opt/wheels -maxdepth 1 -name 'torch-*+cpu-cp311-*.whl' 2>/dev/null | sort | tail -n 1)
    fi
    if [[ -z "$wheel" || ! -f "$wheel" ]]; then
        log "WARNING: no torch CPU wheel for Python 3.11 (STANDIN_TORCH_WHEEL): no torch in the image"
        return
    fi
    local deps=${STANDIN_TORCH_DEPS:-$CACHE_DIR/torch-deps}
    if [[ $(find "$deps" -maxdepth 1 -name '*.whl' 2>/dev/null | wc -l) -lt ${#TORCH_DEPS[@]} ]]; then
        mkdir -p "$deps"
        log "downloading torch's dependencies into $deps"
        python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: --no-deps \
            --python-version 3.11 --implementation cp --abi cp311 --platform manylinux2014_x86_64 \
            --dest "$deps" "${TORCH_DEPS[@]}" >/dev/null 2>&1 || true
    fi
    if [[ $(find "$deps" -maxdepth 1 -name '*.whl' 2>/dev/null | wc -l) -lt ${#TORCH_DEPS[@]} ]]; then
        log "WARNING: torch's dependencies are not in $deps (and PyPI did not answer): no torch in the image"
        return
    fi
    # hard links where the file system allows: the wheel is 190 MB
    ln -f "$wheel" "$STAGE/" 2>/dev/null || cp "$wheel" "$STAGE/"
    for dep in "$deps"/*.whl; do ln -f "$dep" "$STAGE/" 2>/dev/null || cp "$dep" "$STAGE/"; done
    log "torch: $(basename "$wheel") and ${#TORCH_DEPS[@]} dependencies"
}
stage_torch

# ---- 2. stand-in image ---------------------------------------------------
T_BUILD=$(now)
BUILD_LOG=$(mktemp)
if ! docker build --network=none "${BUILD_ARGS[@]}" -t "$IMAGE_REF" -f "$HERE/Dockerfile" "$HERE" >"$BUILD_LOG" 2>&1; then
    cat "$BUILD_LOG" >&2
    rm -f "$BUILD_LOG"
    exit 1
fi
rm -f "$BUILD_LOG"
log "docker build -t $IMAGE_REF: $(elapsed "$T_BUILD") s"
SIZE=$(docker image inspect --format '{{.Size}}' "$IMAGE_REF")
log "image $IMAGE_REF: $((SIZE / 1000000)) MB; total $(elapsed "$T_START") s"
