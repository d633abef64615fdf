#!/usr/bin/env bash
# Prints what isaacctl needs to know about a host as KEY=VALUE lines (one GPU= line per GPU).
# Usage: facts.sh FOLDER   (free disk is measured where FOLDER is, or its nearest parent)
set -uo pipefail
folder="${1:-$HOME}"
folder="${folder/#\~/$HOME}"
while [ ! -d "${folder}" ]; do folder="$(dirname "${folder}")"; done

if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  echo "OS=${PRETTY_NAME:-${NAME:-unknown}}"
  echo "OS_ID=${ID:-unknown}"
  echo "OS_VERSION=${VERSION_ID:-unknown}"
fi
echo "HOME=${HOME}"
echo "USER=$(id -un)"
echo "KERNEL=$(uname -r)"
echo "CPUS=$(nproc)"
echo "MEMORY_KIB=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
echo "FREE_DISK_KIB=$(df -Pk "${folder}" | awk 'NR==2 {print $4}')"
# NVIDIA display/3D controllers on the PCI bus, driver or not (vendor 0x10de, class 0x03xxxx).
nvidia_pci=0
for device in /sys/bus/pci/devices/*; do
  [ -r "${device}/vendor" ] || continue
  if [ "$(cat "${device}/vendor")" = 0x10de ] && grep -q '^0x03' "${device}/class" 2>/dev/null; then
    nvidia_pci=$((nvidia_pci + 1))
  fi
done
echo "NVIDIA_PCI=${nvidia_pci}"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits 2>/dev/null \
    | while IFS= read -r line; do echo "GPU=${line}"; done
  echo "NVIDIA_SMI=yes"
else
  echo "NVIDIA_SMI=no"
fi
if command -v docker >/dev/null 2>&1; then
  echo "DOCKER=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo no-access)"
else
  echo "DOCKER=missing"
fi
if command -v nvidia-ctk >/dev/null 2>&1; then
  echo "NVIDIA_CTK=$(nvidia-ctk --version 2>/dev/null | head -n 1)"
else
  echo "NVIDIA_CTK=missing"
fi
echo "PYTHON3=$(command -v python3 || echo missing)"
