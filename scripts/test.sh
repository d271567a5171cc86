#!/usr/bin/env bash
# The whole test suite, as CI runs it: house rules, lint, types, then every test layer with
# coverage (floor in pyproject.toml). Fails on the first failing step, except mypy: it runs in the
# background and its verdict comes after pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)
bin=${EMILY_VENV:-.venv}/bin
export PATH="$PWD/$bin:$PATH" MPLBACKEND=Agg HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Let Python cache bytecode. Where the environment sets PYTHONDONTWRITEBYTECODE (this machine's
# does) and the venv was installed without compiling (uv's default), every child process (each
# CLI call, DVC stage, server, benchmark worker) compiled torch, MLflow and pandas from source
# again: importing the three took 7 CPU s instead of 3 (benchmarks/bytecode_cache.py).
unset PYTHONDONTWRITEBYTECODE
# One OpenMP thread per process (torch's intra-op pool): the suite runs a worker per core plus
# the servers and CLI calls they start, and OpenMP threads spin while they wait. Two copies of one
# torch-heavy test file side by side took 108 CPU s each with the default threads, 13 with one.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

step() { printf '\n== %s (at %s s)\n' "$*" "$(($(date +%s) - ${EMILY_TEST_STARTED:-$began}))" >&2; }

# Record how long this run took (from `make test`'s start when it passes EMILY_TEST_STARTED, so
# set-up counts) and whether it passed: `emily report` reads it as "clean clone to green tests".
started=${EMILY_TEST_STARTED:-$(date +%s)}
record() {
  local rc=$? report_dir=${EMILY_HOME:-.emily}/reports coverage=null
  [[ -n ${mypy_pid:-} ]] && { kill "$mypy_pid" 2>/dev/null || true; }  # a step failed before mypy's verdict
  [[ -n ${prefect_pid:-} ]] && { kill "$prefect_pid" 2>/dev/null || true; }
  mkdir -p "$report_dir"
  if [[ $rc == 0 ]]; then  # a number, or null (coverage prints "No data to report." on stdout)
    coverage=$(coverage report --format=total --precision=2 2>/dev/null || true)
    [[ $coverage =~ ^[0-9]+(\.[0-9]+)?$ ]] || coverage=null
  fi
  printf '{"started_at": %s, "finished_at": %s, "seconds": %s, "passed": %s, "coverage_percent": %s, "ci": %s, "setup_from_nothing": %s}\n' \
    "$started" "$(date +%s)" "$(($(date +%s) - started))" "$([[ $rc == 0 ]] && echo true || echo false)" \
    "$coverage" "$([[ ${CI:-} == true ]] && echo true || echo false)" \
    "$([[ ${EMILY_SETUP_FROM_NOTHING:-} == 1 ]] && echo true || echo false)" >"$report_dir/test-run.json"
}
trap record EXIT
step "house rules: SovereignModel, the temporal lock, imports across layers"
python scripts/check_sovereign_models.py src
python scripts/check_temporal_lock.py src
python scripts/check_layer_imports.py src
step "ruff"
code_dirs=$(ls -d src tests scripts benchmarks docs 2>/dev/null || true)
ruff check $code_dirs
ruff format --check $code_dirs
step "mypy (strict on src), in the background until pytest ends; docs: mkdocs build --strict"
# mypy from a clean clone takes minutes on one core, so it runs beside the docs build and pytest
# and its verdict comes after pytest's (a failure still fails the run, with its output). The site
# is built once: the tests that read it (the docs_site fixture) reuse this build. No -q for
# mkdocs: it would hide the warnings --strict fails on.
mypy_log=$(mktemp)
mypy >"$mypy_log" 2>&1 &
mypy_pid=$!
# One Prefect API server for the whole run, as ADR 0017 tells a user who ingests often: without
# PREFECT_API_URL every `emily ingest` (and every test process's first flow run) starts Prefect's
# temporary server first, about 18 of the 43 CPU s of a two-record ingest on a slow 2-core
# machine. The temporary-server default keeps its own test (test_memory_etl_temporary_server.py).
# It starts beside the docs build; if it is not up by pytest's start, the suite runs without it.
prefect_port=$(python -c 'import sys; sys.path.insert(0, "tests"); from _support.ports import free_port; print(free_port())')
prefect_home=$(mktemp -d)
# Only what a flow run needs: the API and the recorders (task runs arrive as events); the
# services that poll for work this suite never schedules stay off (a core's 3 % idle otherwise).
PREFECT_HOME=$prefect_home PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 \
  PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED=false PREFECT_SERVER_SERVICES_FOREMAN_ENABLED=false \
  PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED=false PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED=false \
  PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED=false PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED=false \
  PREFECT_SERVER_SERVICES_CLEANUP_RECONCILER_ENABLED=false \
  prefect server start --host 127.0.0.1 --port "$prefect_port" --no-ui --no-scheduler --no-late-runs \
  >"$prefect_home/server.log" 2>&1 &
prefect_pid=$!
EMILY_DOCS_SITE=$(mktemp -d)
export EMILY_DOCS_SITE
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir "$EMILY_DOCS_SITE"
prefect_answers() {
  python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "http://127.0.0.1:$prefect_port/api/health" 2>/dev/null
}
for _ in $(seq 240); do
  if prefect_answers || ! kill -0 "$prefect_pid" 2>/dev/null; then break; fi  # up, or exited
  sleep 1
done
if prefect_answers; then
  export PREFECT_API_URL="http://127.0.0.1:$prefect_port/api"
else
  echo "test.sh: the Prefect server did not answer; ingests start their own (slower):" >&2
  tail -n 20 "$prefect_home/server.log" >&2 || true
  kill "$prefect_pid" 2>/dev/null || true
  prefect_pid=
fi
# One worker per core, plus one to use the time workers spend waiting on servers and sockets.
# With one OpenMP thread each (above), on one 2-core machine two workers ran the suite in 585 s
# with the cores 88 % busy and three in 537 s at 96 %; on a slower machine, whose two workers
# already kept the cores about 94 % busy, four took 1,383 s against two's 1,215: more only contend.
# (GNU nproc obeys OMP_NUM_THREADS, hence the env -u: it would count one core.)
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
step "pytest (all layers, coverage, ${EMILY_TEST_WORKERS:=$((cores + 1))} workers)"
rm -f .coverage .coverage.*
# pytest-xdist (EMILY_TEST_WORKERS=0 runs in this process). --dist loadfile
# keeps each file on one worker, in order: module fixtures are built once and the runbook
# commands run in document order in their shared home. The 30 slowest tests are listed at the end.
pytest_rc=0
pytest -p no:cacheprovider -n "$EMILY_TEST_WORKERS" --dist loadfile --durations=30 --cov --cov-report=term "$@" || pytest_rc=$?
step "mypy's verdict"
mypy_rc=0
wait "$mypy_pid" || mypy_rc=$?
cat "$mypy_log" >&2
rm -f "$mypy_log"
((mypy_rc == 0)) || echo "test.sh: mypy failed" >&2
((pytest_rc == 0)) || exit "$pytest_rc"
exit "$mypy_rc"
