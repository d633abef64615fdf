#!/usr/bin/env bash
# The test command (README; .ci/run runs it). Usage: bash scripts/test.sh [pytest args...]
#
# Works as root on a fresh Debian machine and is quick when everything is already there:
#  1. apt-get installs what is missing (checked with dpkg-query first);
#  2. .venv (python3 -m venv) with `pip install -e '.[test]'` (redone when pyproject changes);
#     then ruff (check and format --check) and mypy, before anything slow (ISAACCTL_SKIP_LINT=1
#     skips them while iterating);
#  3. dockerd is started if `docker info` fails (and left running afterwards);
#  4. Debian's docker-registry on 127.0.0.1:<free port> in the HOST network namespace
#     (dockerd pulls from the host namespace), htpasswd auth with a random user/password;
#  5. the stand-in Isaac Lab images, 2.x and 3.x (tests/standin/build_image.sh), are pushed to it;
#  6. pytest runs inside `unshare --net`, a network namespace with nothing but loopback.
#     Docker is still reached through its unix socket.
#
# Registry auth, as checked with docker 20.10.24 and distribution 2.8.2: htpasswd basic auth
# over plain HTTP works. The registry accepts it without TLS, and dockerd treats 127.0.0.0/8
# as an insecure registry (so it speaks HTTP and still sends the credentials). `docker login`
# and push/pull with credentials succeed; without them push/pull fail with "no basic auth
# credentials". So no TLS and nothing under /etc/docker/certs.d.
#
# Exported to the tests: ISAACCTL_TEST_REGISTRY (127.0.0.1:<port>), ISAACCTL_TEST_REGISTRY_USER,
# ISAACCTL_TEST_REGISTRY_PASSWORD_FILE (0600), ISAACCTL_TEST_IMAGE
# (127.0.0.1:<port>/nvidia/isaac-lab:2.3.2, absent if tests/standin/build_image.sh is missing),
# ISAACCTL_TEST_IMAGE_LOCAL (isaacctl-test/isaac-lab:2.3.2, the same image under a local tag),
# ISAACCTL_TEST_IMAGE3 and ISAACCTL_TEST_IMAGE3_LOCAL (the Isaac Lab 3.x stand-in, :3.0.0),
# ISAACCTL_TEST_WHEELHOUSE (wheels of isaacctl[all]'s dependencies, scripts/build_image.sh),
# ISAACCTL_TEST_NETNS=1. Environment knobs: PYTHON (interpreter for the venv, default python3),
# ISAACCTL_TEST_NO_SEED=1 (always push the image), ISAACCTL_TEST_CACHE_DIR (registry seed cache,
# default /var/cache/isaacctl-test-registry).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[test.sh %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[test.sh] FATAL: %s\n' "$*" >&2; exit 1; }
trap 'printf "[test.sh] FAILED (exit %s) at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

[ "$(id -u)" -eq 0 ] || die "run as root: apt-get, dockerd, sshd, useradd and unshare need it"

# ---------------------------------------------------------------- 1. system packages
PYTHON="${PYTHON:-python3}"
PKGS=(openssh-server openssh-client docker.io docker-registry apache2-utils rsync debootstrap
      shellcheck iproute2 util-linux procps tmux python3
      patchelf libegl-mesa0 libegl1 systemd)  # the real Isaac Lab venv, its EGL video, unit checks
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for pkg in "${PKGS[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    [ "$PYTHON" = python3 ] || die "PYTHON=$PYTHON not found"
    missing+=(python3 python3-venv)
elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    # Debian's python3 can only create venvs (with pip) once python3-venv is installed
    installed python3-venv || missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------- 2. virtualenv
VENV="$ROOT/.venv"
VENV_PY="$VENV/bin/python"
if [ -e "$VENV" ] && ! "$VENV_PY" -c 'import sys' >/dev/null 2>&1; then
    log "removing broken $VENV"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV_PY" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.isaacctl-install-stamp"
want="$({ cat pyproject.toml setup.cfg setup.py 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] ||
   ! "$VENV_PY" -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("isaacctl") and u.find_spec("pytest")))' 2>/dev/null; then
    log "pip install -e '.[test]'"
    rm -f "$stamp"
    "$VENV_PY" -m pip install --quiet --disable-pip-version-check -e '.[test]'
    printf '%s\n' "$want" >"$stamp"
fi

# ---------------------------------------------------------------- 2b. lint and types
# Before anything slow: ruff (lint and format check) over the tree, mypy over src/ (strict flags
# on providers/ and services/, see pyproject.toml). ISAACCTL_SKIP_LINT=1 skips them while iterating.
if [ -z "${ISAACCTL_SKIP_LINT:-}" ]; then
    log "ruff check, ruff format --check, mypy"
    "$VENV/bin/ruff" check --quiet src tests benchmarks || die "ruff check found problems (ruff check --fix fixes most)"
    "$VENV/bin/ruff" format --check --quiet src tests benchmarks || die "ruff format --check: run 'ruff format src tests benchmarks'"
    "$VENV/bin/mypy" || die "mypy found type errors"
fi

# ---------------------------------------------------------------- 3. Docker engine
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: /tmp/isaacctl-dockerd.log)"
    setsid dockerd </dev/null >>/tmp/isaacctl-dockerd.log 2>&1 &
    for _ in $(seq 120); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { tail -n 40 /tmp/isaacctl-dockerd.log >&2; die "dockerd did not answer within 60 s"; }
fi

# ---------------------------------------------------------------- 4. registry (host netns)
WORK="$(mktemp -d /tmp/isaacctl-test.XXXXXX)"
REG_PID=""
REGISTRY=""
# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$?
    trap - EXIT
    if [ -n "$REG_PID" ]; then
        kill "$REG_PID" 2>/dev/null || true
        wait "$REG_PID" 2>/dev/null || true
    fi
    if [ -n "$REGISTRY" ]; then
        # local tags pointing at this run's registry (its port is never reused on purpose)
        docker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -F "$REGISTRY/" |
            xargs -r docker rmi >/dev/null 2>&1 || true
    fi
    [ -f "$WORK/registry.log" ] && cp "$WORK/registry.log" /tmp/isaacctl-test-registry.log
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

REG_USER="u$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
REG_PASSWORD_FILE="$WORK/registry-password"
(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$REG_PASSWORD_FILE" && echo >>"$REG_PASSWORD_FILE")
# bcrypt; -i (password on stdin) rather than -b keeps it out of the process list
htpasswd -Bin "$REG_USER" <"$REG_PASSWORD_FILE" >"$WORK/htpasswd" 2>/dev/null
mkdir "$WORK/registry-storage"
for _ in 1 2 3 4 5; do
    port="$("$VENV_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry-storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
auth:
  htpasswd:
    realm: isaacctl-test-registry
    path: $WORK/htpasswd
EOF
    docker-registry serve "$WORK/registry.yml" </dev/null >>"$WORK/registry.log" 2>&1 &
    REG_PID=$!
    for _ in $(seq 100); do
        kill -0 "$REG_PID" 2>/dev/null || break
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    if kill -0 "$REG_PID" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        REGISTRY="127.0.0.1:$port"
        break
    fi
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
    REG_PID=""
done
[ -n "$REGISTRY" ] || { tail -n 20 "$WORK/registry.log" >&2; die "docker-registry did not start"; }
log "registry on $REGISTRY (user $REG_USER)"
export ISAACCTL_TEST_REGISTRY="$REGISTRY"
export ISAACCTL_TEST_REGISTRY_USER="$REG_USER"
export ISAACCTL_TEST_REGISTRY_PASSWORD_FILE="$REG_PASSWORD_FILE"

# ---------------------------------------------------------------- 5. stand-in image
LOCAL_REF="isaacctl-test/isaac-lab:2.3.2"
LOCAL_REF3="isaacctl-test/isaac-lab:3.0.0"   # the Isaac Lab 3.x stand-in (build_image.sh --generation 3)
SEED_DIR="${ISAACCTL_TEST_CACHE_DIR:-/var/cache/isaacctl-test-registry}/seed"
IMAGE="$REGISTRY/nvidia/isaac-lab:2.3.2"
IMAGE3="$REGISTRY/nvidia/isaac-lab:3.0.0"
if [ -f tests/standin/build_image.sh ]; then
    log "building the stand-in images ($LOCAL_REF, $LOCAL_REF3)"
    bash tests/standin/build_image.sh "$LOCAL_REF"
    bash tests/standin/build_image.sh --generation 3 "$LOCAL_REF3"
    DOCKER_CFG="$WORK/docker-config"   # a private client config: root's stays untouched
    mkdir -m 700 "$DOCKER_CFG"
    docker --config "$DOCKER_CFG" login -u "$REG_USER" --password-stdin "$REGISTRY" \
        <"$REG_PASSWORD_FILE" >/dev/null 2>&1 || die "docker login to $REGISTRY failed"
    docker tag "$LOCAL_REF" "$IMAGE"
    docker tag "$LOCAL_REF3" "$IMAGE3"
    image_id="$( { docker image inspect -f '{{.Id}}' "$LOCAL_REF"; docker image inspect -f '{{.Id}}' "$LOCAL_REF3"; } |
        sha256sum | cut -c1-40)"
    seed="$SEED_DIR/$image_id"
    if [ -d "$seed/docker" ] && [ -z "${ISAACCTL_TEST_NO_SEED:-}" ]; then
        # A push costs ~10 s (dockerd recompresses every layer for a registry it has not seen,
        # and the port is new on each run), so the registry storage left by an earlier push of
        # these very images is copied in instead. Blobs/manifests do not depend on the address.
        log "registry storage seeded from $seed (same image ids; ISAACCTL_TEST_NO_SEED=1 to push)"
        cp -a "$seed/docker" "$WORK/registry-storage/"
    else
        for ref in "$IMAGE" "$IMAGE3"; do
            log "pushing $ref"
            docker --config "$DOCKER_CFG" push "$ref" >>"$WORK/push.log" 2>&1 || { cat "$WORK/push.log" >&2; die "docker push failed"; }
        done
        rm -rf "$SEED_DIR" && mkdir -p "$SEED_DIR"
        cp -a "$WORK/registry-storage" "$seed.tmp.$$" && mv "$seed.tmp.$$" "$seed"
    fi
    docker --config "$DOCKER_CFG" logout "$REGISTRY" >/dev/null
    rm -rf "$DOCKER_CFG"
    # the tests must really pull them from the registry
    docker rmi "$IMAGE" "$IMAGE3" >/dev/null
    export ISAACCTL_TEST_IMAGE="$IMAGE" ISAACCTL_TEST_IMAGE_LOCAL="$LOCAL_REF"
    export ISAACCTL_TEST_IMAGE3="$IMAGE3" ISAACCTL_TEST_IMAGE3_LOCAL="$LOCAL_REF3"
else
    log "WARNING: tests/standin/build_image.sh does not exist yet: no stand-in image, tests that need it will skip"
fi

# ---------------------------------------------------------------- 5b. the real Isaac Lab 3.0.0
# The pip runtime's tests run the real kit-less Isaac Lab (tests/test_pip_runtime.py): its venv
# is built once, outside the checkout (~5.7 GB, ~2 min with PyPI), by
# scripts/isaaclab_test_venv.sh, and reused while its package list is unchanged. Without Python
# 3.12 (pyenv) or PyPI the build is skipped and those tests skip saying why.
# ISAACCTL_TEST_NO_ISAACLAB=1 skips the build.
if [ -z "${ISAACCTL_TEST_NO_ISAACLAB:-}" ]; then
    if isaaclab_python="$(bash scripts/isaaclab_test_venv.sh)"; then
        export ISAACCTL_TEST_ISAACLAB_PYTHON="$isaaclab_python"
        log "real Isaac Lab 3.0.0 venv: $isaaclab_python"
    else
        log "WARNING: the real Isaac Lab 3.0.0 venv could not be built: tests/test_pip_runtime.py will skip"
    fi
fi

# ---------------------------------------------------------------- 5c. isaacctl's image and wheels
# The debootstrapped base image and a wheelhouse of isaacctl[all]'s dependencies (both cached):
# the tests build the wheel and the container image from them with no network
# (tests/test_install.py, tests/test_container_image.py).
if WHEELHOUSE="$(PYTHON="$VENV_PY" bash scripts/build_image.sh --prepare)"; then
    export ISAACCTL_TEST_WHEELHOUSE="$WHEELHOUSE"
else
    log "WARNING: scripts/build_image.sh --prepare failed: the install and container image tests will skip"
fi

# ---------------------------------------------------------------- 6. pytest, loopback only
unshare --net -- true 2>/dev/null ||
    die "'unshare --net' is not permitted here; refusing to run the tests outside a loopback-only network namespace"
export VENV_PY
rc=0
if [ "${ISAACCTL_RUN:-tests}" = benchmarks ]; then
    # scripts/bench.sh: the same prepared machine, the benchmarks instead of the tests
    log "benchmarks (network namespace with loopback only)"
    # shellcheck disable=SC2016  # expanded by the inner bash
    unshare --net -- bash -c 'ip link set lo up && export ISAACCTL_TEST_NETNS=1 && exec "$VENV_PY" benchmarks/run.py "$@"' \
        isaacctl-netns "$@" || rc=$?
    log "done (exit $rc)"
    exit "$rc"
fi
log "pytest (network namespace with loopback only)"
# shellcheck disable=SC2016  # expanded by the inner bash
unshare --net -- bash -c 'ip link set lo up && export ISAACCTL_TEST_NETNS=1 && exec "$VENV_PY" -m pytest "$@"' \
    isaacctl-netns "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    log "pytest collected no tests: that is a failure"
    rc=1
fi
log "done (exit $rc)"
exit "$rc"
