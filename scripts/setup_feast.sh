#!/usr/bin/env bash
# Create (or repair) the feature store's own virtual environment, .venv-feast, idempotently.
#
# Why a separate venv (ADR 0010): feast[redis] 0.67 needs redis-py < 8 and pandas < 3, while the
# main .venv pins redis-py 8 (falkordb >= 1.8) and pandas 3. Emily talks to Feast through
# src/emily/_data/feature_store/runner.py run by this venv's Python, and reads the online store directly.
# Usage: scripts/setup_feast.sh   (EMILY_FEAST_VENV overrides the folder; PYTHON the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_install.sh

venv=${EMILY_FEAST_VENV:-.venv-feast}
python=${PYTHON:-python3}
spec="feast[redis]==0.67.*"
stamp="$venv/.stamp-feast"
want=$(printf '%s\n' "$spec" | cat - "$0" | sha256sum | cut -c1-16)

if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
echo "setup_feast: installing $spec into $venv (first time: seconds with uv, a minute or two with pip)" >&2
install_packages "$venv" "$spec"
"$venv/bin/python" -c 'import feast, redis; print("setup_feast: feast", feast.__version__, "redis-py", redis.__version__)' >&2
echo "$want" >"$stamp"
