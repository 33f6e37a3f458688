#!/usr/bin/env bash
# Installs every Debian package stasis needs to build, test, fuzz and run the kernel matrix.
# Idempotent: with --check it only reports (exit 1) whether something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libcap-dev
  python3 busybox-static qemu-system-x86 cpio kmod zstd xz-utils
  coreutils bash procps iproute2 curl nftables
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [[ "${1:-}" == "--check" ]]; then
  if ((${#missing[@]})); then echo "missing packages: ${missing[*]}" >&2; exit 1; fi
  exit 0
fi

if ((${#missing[@]} == 0)); then exit 0; fi
echo "ci/deps.sh: installing ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
