#!/usr/bin/env bash
# Set up (or repair) everything Emily needs on this machine, idempotently and quickly when
# nothing changed: Debian packages only when missing, a virtual environment in .venv, and the
# Python dependencies pinned by requirements.lock. Usage: scripts/setup.sh [run|test]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_install.sh

purpose=${1:-run}
venv=${EMILY_VENV:-.venv}
python=${PYTHON:-python3}

# Debian packages each purpose needs: binary name -> package name.
# clang and lld (wasm-ld) build the reflex kernel for the browser; the tests drive Chromium.
declare -A debs=([clang]=clang [wasm-ld]=lld)
if [[ $purpose == test ]]; then
  debs+=([promtool]=prometheus [prometheus-alertmanager]=prometheus-alertmanager [restic]=restic [rclone]=rclone [chromium]=chromium)
fi
missing=()
for bin in "${!debs[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${debs[$bin]}")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=""; [[ $(id -u) == 0 ]] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Emily needs Python >= 3.11 (found $("$python" --version 2>&1)); set PYTHON=python3.11" >&2
  exit 1
fi
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"

extras=""
[[ $purpose == test ]] && extras="[dev]"
stamp="$venv/.stamp-$purpose"
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup: installing Python dependencies ($purpose) into $venv" >&2
  # torch==2.13.0 is pinned: the installer takes the CPU build on disk, not a multi-GB CUDA build.
  install_packages "$venv" -c requirements.lock -e ".$extras"
  echo "$want" >"$stamp"
fi
bash scripts/build_wasm.sh  # the reflex kernel for the browser (`emily reflexes export --wasm`)
