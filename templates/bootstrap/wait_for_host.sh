#!/usr/bin/env bash
# Waits until a fresh host is ready for package work: cloud-init finished (where it exists),
# then no apt/dpkg process (unattended-upgrades runs at first boot on Ubuntu images).
# Usage: wait_for_host.sh TIMEOUT_SECONDS
set -euo pipefail
timeout_seconds="${1:-600}"
deadline=$(( $(date +%s) + timeout_seconds ))

if command -v cloud-init >/dev/null 2>&1; then
  echo "waiting for cloud-init"
  timeout "${timeout_seconds}" cloud-init status --wait >/dev/null 2>&1 || true
fi

package_work_running() {
  pgrep -x apt-get >/dev/null 2>&1 || pgrep -x apt >/dev/null 2>&1 \
    || pgrep -x dpkg >/dev/null 2>&1 || pgrep -f unattended-upgrade >/dev/null 2>&1
}

while package_work_running; do
  if [ "$(date +%s)" -ge "${deadline}" ]; then
    echo "apt/dpkg still busy after ${timeout_seconds} s" >&2
    exit 75
  fi
  echo "waiting for apt/dpkg to finish"
  sleep 5
done
echo "host ready"
