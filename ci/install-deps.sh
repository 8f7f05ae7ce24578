#!/usr/bin/env bash
# install-deps.sh — installs with apt-get whatever `make test` (and `make fuzz`: clang and
# its libFuzzer runtime) needs and is missing.
# Idempotent and quick when everything is present (no apt-get call at all then).
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd gcc || need+=(gcc)
have_cmd make || need+=(make)
have_cmd clang || need+=(clang)
have_pkg libclang-rt-14-dev || need+=(libclang-rt-14-dev)
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || need+=(python3-pytest)
have_cmd gcovr || need+=(gcovr)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: everything present"
  exit 0
fi
echo "install-deps: installing ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install ${need[*]} (or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "install-deps: done"
