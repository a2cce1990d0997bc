#!/usr/bin/env bash
# Installs everything Berth needs to build, run and test on Debian 12.
# Idempotent: does nothing (and needs no network) when all packages are present.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git ccache
  clang libclang-rt-14-dev libfuzzer-14-dev
  # libraries
  libboost-dev libboost-system-dev libssl-dev libsqlite3-dev sqlite3
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libarchive-dev libzstd-dev
  # node side: container runtime, image tools for test images, test registry, networking
  runc conmon tini skopeo umoci docker-registry busybox-static containernetworking-plugins iproute2 iptables util-linux
  # API models (read at build time) and the real clients the tests drive
  python3 python3-botocore python3-boto3 awscli
  # test tools
  curl procps bc
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
