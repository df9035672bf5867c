#!/usr/bin/env bash
# Set up this machine for Sunward, build it, and run the first pipeline.
#
# Safe to run again: every step checks before it acts. Works as root (no sudo
# needed) or as a user with sudo. Later features add their system packages
# to SYSTEM_PACKAGES below; scripts/prepare-fonts.sh installs the report font.
set -euo pipefail
cd "$(dirname "$0")"

# System packages the build and the reports need (Debian names).
SYSTEM_PACKAGES=(gcc pkg-config)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
elif ! command -v cc >/dev/null 2>&1; then
  echo "setup: not a Debian-like system: please install a C compiler (cc) and pkg-config" >&2
  exit 1
fi
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: please install: ${missing[*]}" >&2
    exit 1
  fi
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install the Rust toolchain (https://rustup.rs) and run ./setup.sh again" >&2
  exit 1
fi

echo "setup: preparing the Chinese font for PDF reports"
scripts/prepare-fonts.sh

echo "setup: building (the first build takes several minutes)"
cargo build --workspace

echo "setup: running pipelines/first.yaml"
target/debug/sunward run pipelines/first.yaml --out out/first
echo "setup: done; the results are in out/first/"
