#!/usr/bin/env bash
# The whole test suite, as CI runs it: house rules, lint, types, then every test layer with
# coverage (floor in pyproject.toml). Fails on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)
bin=${EMILY_VENV:-.venv}/bin
export PATH="$PWD/$bin:$PATH" MPLBACKEND=Agg HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

step() { printf '\n== %s (at %s s)\n' "$*" "$(($(date +%s) - ${EMILY_TEST_STARTED:-$began}))" >&2; }

# Record how long this run took (from `make test`'s start when it passes EMILY_TEST_STARTED, so
# set-up counts) and whether it passed: `emily report` reads it as "clean clone to green tests".
started=${EMILY_TEST_STARTED:-$(date +%s)}
record() {
  local rc=$? report_dir=${EMILY_HOME:-.emily}/reports coverage=null
  mkdir -p "$report_dir"
  [[ $rc == 0 ]] && coverage=$(coverage report --format=total --precision=2 2>/dev/null || echo null)
  printf '{"started_at": %s, "finished_at": %s, "seconds": %s, "passed": %s, "coverage_percent": %s, "ci": %s, "setup_from_nothing": %s}\n' \
    "$started" "$(date +%s)" "$(($(date +%s) - started))" "$([[ $rc == 0 ]] && echo true || echo false)" \
    "$coverage" "$([[ ${CI:-} == true ]] && echo true || echo false)" \
    "$([[ ${EMILY_SETUP_FROM_NOTHING:-} == 1 ]] && echo true || echo false)" >"$report_dir/test-run.json"
}
trap record EXIT
step "house rules: SovereignModel and the temporal lock"
python scripts/check_sovereign_models.py src
python scripts/check_temporal_lock.py src
step "ruff"
code_dirs=$(ls -d src tests scripts benchmarks docs 2>/dev/null || true)
ruff check $code_dirs
ruff format --check $code_dirs
step "mypy (strict on src) and docs: mkdocs build --strict, side by side (one core each)"
# The site is built once: the tests that read it (the docs_site fixture) reuse this build. No -q
# for mkdocs: it would hide the warnings --strict fails on.
EMILY_DOCS_SITE=$(mktemp -d)
export EMILY_DOCS_SITE
mypy_log=$(mktemp)
mypy >"$mypy_log" 2>&1 &
mypy_pid=$!
docs_rc=0
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir "$EMILY_DOCS_SITE" || docs_rc=$?
mypy_rc=0
wait "$mypy_pid" || mypy_rc=$?
cat "$mypy_log" >&2
rm -f "$mypy_log"
((mypy_rc == 0)) || { echo "test.sh: mypy failed" >&2; exit "$mypy_rc"; }
((docs_rc == 0)) || { echo "test.sh: mkdocs build --strict failed" >&2; exit "$docs_rc"; }
step "pytest (all layers, coverage, ${EMILY_TEST_WORKERS:=auto} workers)"
rm -f .coverage .coverage.*
# pytest-xdist: one worker per core (EMILY_TEST_WORKERS=0 runs in this process). --dist loadfile
# keeps each file on one worker, in order: module fixtures are built once and the runbook
# commands run in document order in their shared home. The 30 slowest tests are listed at the end.
pytest -p no:cacheprovider -n "$EMILY_TEST_WORKERS" --dist loadfile --durations=30 --cov --cov-report=term "$@"
