#!/usr/bin/env bash
# Re-resolve every dependency (core, dev and the optional extras the tests use) in a scratch
# virtual environment and pin the result in requirements.lock, which setup.sh installs against.
# Usage: scripts/lock.sh [--upgrade]. By default the pins already in requirements.lock hold (a
# new dependency gets its newest compatible release, nothing else moves); --upgrade re-resolves all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_install.sh  # quiet(); the lock itself is resolved by pip, the resolver of record
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
quiet "$scratch/venv/bin/python" -m pip install -q --upgrade pip
keep=(-c requirements.lock)
[[ ${1:-} == --upgrade ]] && keep=()
quiet "$scratch/venv/bin/python" -m pip install -q "${keep[@]}" -e ".[dev]"
{
  echo "# Pinned by scripts/lock.sh on $(date -u +%Y-%m-%d); do not edit by hand."
  "$scratch/venv/bin/python" -m pip freeze --exclude-editable | grep -v '^emily-sovereign'
} >requirements.lock
echo "requirements.lock: $(grep -vc '^#' requirements.lock) pins" >&2
