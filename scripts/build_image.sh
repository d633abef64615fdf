#!/usr/bin/env bash
# Build the isaacctl container image (the top-level Dockerfile).
#
#   scripts/build_image.sh [TAG]              docker build from python:3.12-slim and PyPI
#   scripts/build_image.sh --prepare          make what --offline needs; print the wheelhouse
#   scripts/build_image.sh --offline [TAG]    build with no network and nothing pulled
#
# --prepare (needs the network once, then its caches) makes:
#   1. the base image isaacctl-base:bookworm: Debian bookworm minbase from debootstrap with
#      python3, python3-venv, openssh-client, rsync and ca-certificates, imported with
#      `docker import` (cached: the image by its package key, the rootfs tarball on disk);
#   2. a wheelhouse: wheels of every dependency of isaacctl[all] and of its build backend,
#      made by `pip wheel` with this machine's python, whose minor version must be the base's
#      (3.11) since some wheels are binary. Cached per pyproject.toml.
# --offline then builds from a copy of the package source in a temporary context with
# `docker build --network none`, the base passed as BASE_IMAGE and pip limited to the wheels.
#
# Environment knobs: ISAACCTL_IMAGE_CACHE_DIR (default /var/cache/isaacctl-test),
# ISAACCTL_WHEELHOUSE (a wheelhouse to use as it is), PYTHON (default: .venv/bin/python, else
# python3), STANDIN_DEBIAN_MIRROR (debootstrap's mirror, shared with tests/standin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=online
case "${1:-}" in
    --prepare) MODE=prepare; shift ;;
    --offline) MODE=offline; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
TAG="${1:-isaacctl:latest}"

log() { echo "[build_image] $*" >&2; }
die() { echo "[build_image] error: $*" >&2; exit 1; }

if [ "$MODE" = online ]; then
    exec docker build -t "$TAG" "$ROOT"
fi

CACHE_DIR="${ISAACCTL_IMAGE_CACHE_DIR:-/var/cache/isaacctl-test}"
BASE_REF=isaacctl-base:bookworm
SUITE=bookworm
BASE_PYTHON=3.11   # bookworm's python3
PACKAGES=python3,python3-venv,openssh-client,rsync,ca-certificates
ROOTFS_RECIPE=1    # bump when the post-processing below changes
MIRROR="${STANDIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEY="$(printf '%s\n' "$SUITE" minbase "$PACKAGES" "recipe=$ROOTFS_RECIPE" | sha256sum | cut -c1-16)"
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
WHEELHOUSE="${ISAACCTL_WHEELHOUSE:-$CACHE_DIR/wheelhouse-$(sha256sum <"$ROOT/pyproject.toml" | cut -c1-16)}"
export DOCKER_BUILDKIT=0  # the classic builder takes the local base as it is and never asks a registry

base_key() {
    docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$BASE_REF" 2>/dev/null |
        sed -n 's/^ISAACCTL_BASE_ROOTFS_KEY=//p'
}

# Only the package's own files: the working tree may hold others' builds and virtualenvs.
copy_source() {
    mkdir -p "$1"
    cp -a "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/src" "$ROOT/templates" "$1/"
    find "$1/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
}

prepare_base() {
    if [ "$(base_key)" = "$KEY" ]; then
        log "base image $BASE_REF is cached (key $KEY)"
        return
    fi
    local tarball="$CACHE_DIR/isaacctl-base-rootfs-$SUITE-$KEY.tar"
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
        local rootfs
        rootfs="$(mktemp -d "${TMPDIR:-/tmp}/isaacctl-base.XXXXXX")"
        log "debootstrap --variant=minbase --include=$PACKAGES $SUITE"
        mkdir -p "$CACHE_DIR/debs"
        if ! debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE_DIR/debs" \
                "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1; then
            tail -n 30 "$rootfs.log" >&2
            rm -rf "$rootfs" "$rootfs.log"
            die "debootstrap failed"
        fi
        rm -f "$rootfs.log"
        rm -rf "${rootfs:?}"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
        tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp.$$" . && mv -f "$tarball.tmp.$$" "$tarball"
        rm -rf "$rootfs"
    fi
    docker import \
        --change "ENV ISAACCTL_BASE_ROOTFS_KEY=$KEY" \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV LANG=C.UTF-8" \
        --change 'CMD ["bash"]' \
        --message "isaacctl base: debootstrap minbase $SUITE + $PACKAGES" \
        "$tarball" "$BASE_REF" >/dev/null
    log "imported $BASE_REF"
}

prepare_wheelhouse() {
    local have
    have="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    [ "$have" = "$BASE_PYTHON" ] ||
        die "$PYTHON is Python $have; the base's is $BASE_PYTHON and binary wheels must match (set PYTHON)"
    if [ -f "$WHEELHOUSE/.complete" ]; then
        log "wheelhouse $WHEELHOUSE is cached"
        return
    fi
    local work
    work="$(mktemp -d "${TMPDIR:-/tmp}/isaacctl-wheels.XXXXXX")"
    copy_source "$work/src"
    log "pip wheel isaacctl[all] (dependencies and build backend) into $WHEELHOUSE"
    rm -rf "$WHEELHOUSE.tmp"
    mkdir -p "$WHEELHOUSE.tmp"
    if ! "$PYTHON" -m pip wheel --quiet --disable-pip-version-check -w "$WHEELHOUSE.tmp" \
            "$work/src[all]" 'setuptools>=68' wheel >"$work/pip.log" 2>&1; then
        tail -n 30 "$work/pip.log" >&2
        die "pip wheel failed"
    fi
    # isaacctl itself is built from the source of the moment, never taken from here
    rm -f "$WHEELHOUSE.tmp"/isaacctl-*.whl
    touch "$WHEELHOUSE.tmp/.complete"
    rm -rf "$WHEELHOUSE" "$work"
    mv "$WHEELHOUSE.tmp" "$WHEELHOUSE"
}

if [ "$MODE" = prepare ]; then
    mkdir -p "$CACHE_DIR"
    prepare_base
    prepare_wheelhouse
    echo "$WHEELHOUSE"
    exit 0
fi

# ---- offline build
[ "$(base_key)" = "$KEY" ] || die "no $BASE_REF (key $KEY): run '$0 --prepare' first"
[ -d "$WHEELHOUSE" ] || die "no wheelhouse at $WHEELHOUSE: run '$0 --prepare' first (or set ISAACCTL_WHEELHOUSE)"
CONTEXT="$(mktemp -d "${TMPDIR:-/tmp}/isaacctl-image.XXXXXX")"
trap 'rm -rf "$CONTEXT"' EXIT
copy_source "$CONTEXT"
cp "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$CONTEXT/"
mkdir -p "$CONTEXT/wheelhouse"
cp -al "$WHEELHOUSE" "$CONTEXT/wheelhouse/wheels" 2>/dev/null || cp -a "$WHEELHOUSE" "$CONTEXT/wheelhouse/wheels"
log "docker build --network none -t $TAG (base $BASE_REF)"
docker build --network none --build-arg BASE_IMAGE="$BASE_REF" \
    --build-arg PIP_ARGS="--no-index --find-links /src/wheels" -t "$TAG" "$CONTEXT" >&2
log "built $TAG ($(( $(docker image inspect -f '{{.Size}}' "$TAG") / 1000000 )) MB)"
