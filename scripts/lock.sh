#!/usr/bin/env bash
# Re-resolve every dependency (core, dev and the optional extras the tests use) in a scratch
# virtual environment and pin the result in requirements.lock, which setup.sh installs against.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
quiet() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
quiet "$scratch/venv/bin/python" -m pip install -q --upgrade pip
quiet "$scratch/venv/bin/python" -m pip install -q -e ".[dev]"
{
  echo "# Pinned by scripts/lock.sh on $(date -u +%Y-%m-%d); do not edit by hand."
  "$scratch/venv/bin/python" -m pip freeze --exclude-editable | grep -v '^emily-sovereign'
} >requirements.lock
echo "requirements.lock: $(grep -vc '^#' requirements.lock) pins" >&2
