#!/usr/bin/env bash
# Set up this machine for Sunward, build it, and produce the sample reports:
# the first pipeline, the metrics of the sample project and districts, and
# the annual reviews, district comparisons and government summaries, and a
# district's crisis brief and term screening summaries (HTML, PDF and Word)
# under out/.
#
# Safe to run again: every step checks before it acts. Works as root (no sudo
# needed) or as a user with sudo. Later features add their system packages
# to SYSTEM_PACKAGES below; scripts/prepare-fonts.sh installs the report font.
#
#   ./setup.sh             # the debug build: quick to build, used by the tests
#   ./setup.sh --release   # also the optimised build (about 40 minutes more on
#                          # 2 cores), put on the PATH instead: about 3 times faster
set -euo pipefail
cd "$(dirname "$0")"

release=""
case "${1:-}" in
  "") ;;
  --release) release=1 ;;
  *) echo "setup: unknown option $1 (the only option is --release)" >&2; exit 2 ;;
esac

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
# --all-targets builds the tests too, with the same features as
# `cargo nextest run --workspace`, so the test command reuses this build.
cargo build --workspace --all-targets

S=target/debug/sunward
if [ -n "$release" ]; then
  echo "setup: building the optimised binary (about 40 minutes on 2 cores; a second run takes seconds)"
  cargo build --release --workspace
  S=target/release/sunward
fi
# The README's commands say `sunward`: link the binary into ~/.cargo/bin,
# where rustup puts cargo (so it is on the PATH of anyone who can build).
# A link, not a copy: every `cargo build` (`cargo build --release` for the
# optimised one) keeps it current.
if [ -d "$HOME/.cargo/bin" ]; then
  ln -sf "$PWD/$S" "$HOME/.cargo/bin/sunward"
  case ":$PATH:" in
    *":$HOME/.cargo/bin:"*) echo "setup: the sunward command is on your PATH (a link to $S)" ;;
    *) echo "setup: linked $HOME/.cargo/bin/sunward, but that folder is not on your PATH: add it, or run $S" ;;
  esac
else
  echo "setup: no ~/.cargo/bin: run the command as $S"
fi

echo "setup: running pipelines/first.yaml"
$S run pipelines/first.yaml --out out/first --quiet

echo "setup: loading the sample exports (demo pseudonym key) into canonical tables"
SUNWARD_PSEUDONYM_KEY="$(cat sample-data/project-exports/DEMO-KEY-NOT-SECRET.txt)" \
  $S run pipelines/project-exports.yaml --out out/project-canonical --quiet

echo "setup: computing the metrics and the annual reviews of the sample project"
$S run pipelines/project.yaml --out out/project --quiet

echo "setup: the districts' metrics and reports (one workflow run each)"
$S run pipelines/district.yaml --out out/taicang --quiet
$S run pipelines/district.yaml --set data_dir=sample-data/qingpu \
  --set baseline_year=2023 --out out/qingpu --quiet

echo "setup: the prevention loop of a district: the crisis brief and the term screening summaries"
$S run pipelines/prevention-reports.yaml --out out/qingpu-loop --quiet

echo "setup: done. Reports:"
ls out/project/*.pdf out/taicang/*.pdf out/qingpu/*.pdf out/qingpu-loop/*.pdf
