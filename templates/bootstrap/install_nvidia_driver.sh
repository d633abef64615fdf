#!/usr/bin/env bash
# Installs the NVIDIA server driver on Ubuntu 22.04 / 24.04. Run as root. A reboot follows.
# Usage: install_nvidia_driver.sh DRIVER_BRANCH   (e.g. 580)
set -euo pipefail
branch="${1:?driver branch, e.g. 580}"
# shellcheck disable=SC1091
. /etc/os-release
case "${VERSION_ID}" in
  22.04|24.04) ;;
  *) echo "unsupported OS ${PRETTY_NAME}: install the NVIDIA driver >= ${branch} by hand" >&2; exit 64 ;;
esac
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "linux-headers-$(uname -r)" "nvidia-driver-${branch}-server" \
  "nvidia-utils-${branch}-server"
echo "driver installed: reboot required"
