"""Recovery benchmark: time to reopen each store, and for `emily sleep` to resume after a kill.

    python benchmarks/recovery.py --quick --json   # a few minutes: 1k and 10k episodes
    python benchmarks/recovery.py --json           # 10k and 100k episodes
    python benchmarks/recovery.py --sizes 200 --json   # the smoke test's size

Each size gets its own EMILY_HOME, filled through the project's bulk paths: N episodes
(``EpisodicMemory.record_episodes``, 1,000 a batch, N/20 distinct stimuli), N semantic records
(``SemanticMemory.add`` with the hash embedder: storage is measured, not meaning), N reflexes
(``LanceDBReflexStore.upsert``, random D-bit vectors) and N journal entries in the outbox (the
spill ``EpisodeJournal`` replays on start). Every store is closed, then each reopen is timed in
a fresh Python process, imports excluded, until a first read answers:

  reopen_episodic_s     embedded FalkorDB started on the home's files (AOF replay) + count()
  reopen_semantic_s     LanceDB connect + SemanticMemory + count()
  reopen_reflexes_s     ReflexMemory over LanceDBReflexStore: every reflex loaded and indexed,
                        as the runtime does on start
  reopen_outbox_s       the journal's SQLite outbox opened and counted

Keys carry the size: ``reopen_episodic_s_10000``. Then, on the largest size's home, the real
CLI (`emily sleep`, sentence model, DBOS on SQLite) is started, SIGKILLed with its process
group (the embedded graph server too) once its first durable step is done, and started again:

  sleep_resume_s        wall time of the resumed `emily sleep` until it exits
  sleep_resume_first_step_s   until its first progress line after the recorded steps (the
                        start-up and recovery overhead before new work lands)
  sleep_first_run_step_s      the same for the first, uninterrupted start (a baseline)
  sleep_resume_complete true when every episode ended consolidated exactly once

Correctness flags sit beside the figures (``counts_match``: each reopened store holds N).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
STORES = ("episodic", "semantic", "reflexes", "outbox")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def populate(home: Path, n: int) -> None:
    """Fill every store of ``home`` with ``n`` items through the project's bulk paths."""
    from emily.core.settings import load_settings
    from emily.instinct import LanceDBReflexStore, StoredReflex
    from emily.memory import Episode, SemanticRecord, open_episodic
    from emily.memory._lance import connect_lance, lance_uri
    from emily.memory.embedding import HashTextEmbedder
    from emily.memory.semantic import V1, SemanticMemory
    from emily.runtime.builder import JOURNAL_FILE
    from emily.runtime.journal import _Outbox

    settings = load_settings(home=home)
    n_stimuli = max(n // 20, 1)
    t = time.perf_counter()
    episodic = open_episodic(settings)
    try:
        for start in range(0, n, 1000):
            episodic.record_episodes(
                Episode(
                    id=f"ep-{i}",
                    timestamp=T0 + timedelta(milliseconds=i),
                    stimulus=f"stimulus number {i % n_stimuli}",
                    response=f"response {(i // n_stimuli) % 3}",
                    confirmed=i % 4 != 0,
                    hypotheses=(f"hypothesis {i % 50}",) if i % 10 == 0 else (),
                )
                for i in range(start, min(start + 1000, n))
            )
    finally:
        episodic.close()
    semantic = SemanticMemory(connect_lance(settings), embedders={V1: HashTextEmbedder(name=V1)})
    for start in range(0, n, 5000):
        semantic.add(
            [
                SemanticRecord(id=f"rec-{i}", kind="record", text=f"record {i}", created_at=T0)
                for i in range(start, min(start + 5000, n))
            ]
        )
    dim = settings.hdc_dim
    store = LanceDBReflexStore(lance_uri(settings), dim)
    rng = np.random.default_rng(n)
    for start in range(0, n, 10_000):
        count = min(start + 10_000, n) - start
        vectors = rng.integers(0, 256, (count, dim // 8), dtype=np.uint8)
        store.upsert(
            [
                StoredReflex(
                    id=f"rx-{start + j}",
                    vector=vectors[j].tobytes(),
                    response=f"response {j % 7}",
                    confidence=0.75,
                    confirmations=3,
                    updated_at=0.0,
                    stimulus=f"stimulus {start + j}",
                )
                for j in range(count)
            ]
        )
    outbox = _Outbox(settings.path("journal", JOURNAL_FILE))
    try:
        for start in range(0, n, 5000):
            outbox.append([_spilled(i) for i in range(start, min(start + 5000, n))])
    finally:
        outbox.close()
    log(f"populated {n:,} of each in {time.perf_counter() - t:.1f} s ({home})")


def _spilled(i: int) -> Any:
    """A journal entry as the runtime spills it while the graph is down."""
    from emily.runtime.journal import JournalEntry
    from emily.runtime.stimuli import Stimulus

    text = f"spilled {i}"
    stimulus = Stimulus.model_construct(id=f"s{i}", features=None, text=text, label=None)
    return JournalEntry(f"spill-{i}", T0, stimulus, "r", False, 0.5, (), "reflex", 1.0, "ok", 0.0)


def reopen(store: str, home: Path) -> tuple[float, int]:
    """In this (fresh) process: seconds to open ``store`` until a first read, and its count."""
    from emily.core.settings import load_settings
    from emily.instinct import LanceDBReflexStore, ReflexMemory
    from emily.memory import open_episodic
    from emily.memory._lance import connect_lance, lance_uri
    from emily.memory.embedding import HashTextEmbedder
    from emily.memory.semantic import V1, SemanticMemory
    from emily.runtime.builder import JOURNAL_FILE
    from emily.runtime.journal import _Outbox

    settings = load_settings(home=home)
    t = time.perf_counter()
    if store == "episodic":
        episodic = open_episodic(settings)
        count = episodic.count()
        elapsed = time.perf_counter() - t
        episodic.close()
    elif store == "semantic":
        semantic = SemanticMemory(
            connect_lance(settings), embedders={V1: HashTextEmbedder(name=V1)}
        )
        count = semantic.count()
        elapsed = time.perf_counter() - t
    elif store == "reflexes":
        dim = settings.hdc_dim
        memory = ReflexMemory(dim, store=LanceDBReflexStore(lance_uri(settings), dim))
        count = len(memory)
        elapsed = time.perf_counter() - t
    else:
        outbox = _Outbox(settings.path("journal", JOURNAL_FILE))
        count = outbox.count
        elapsed = time.perf_counter() - t
        outbox.close()
    return elapsed, count


def time_reopen(store: str, home: Path) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, str(HERE), "--child-reopen", store, str(home)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    elapsed, count = json.loads(out.stdout.strip().splitlines()[-1])
    return float(elapsed), int(count)


def _emily_sleep(home: Path, *, kill: bool) -> tuple[float, float | None, str]:
    """Run `emily sleep --json` (piped, it prints ``sleep: DONE/TOTAL episodes consolidated``
    per step) and time it. With ``kill``, SIGKILL its process group as soon as one step made
    new progress. Returns (wall s, s until the first line that showed new progress, last line).
    """
    executable = shutil.which("emily", path=str(Path(sys.executable).parent)) or "emily"
    env = {**os.environ, "EMILY_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [executable, "sleep", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the graph server dies with it
    )
    assert proc.stdout is not None
    first: float | None = None
    seen: int | None = None
    last = ""
    for line in proc.stdout:
        last = line.strip()
        if not last.startswith("sleep: "):
            continue
        done = int(last.split()[1].split("/")[0].replace(",", ""))
        if seen is not None and done > seen and first is None:
            first = time.perf_counter() - t
            if kill:
                os.killpg(proc.pid, signal.SIGKILL)
                break
        seen = done
    proc.wait(timeout=900)
    proc.stdout.close()
    return time.perf_counter() - t, first, last


def bench_sleep_resume(home: Path) -> dict[str, float | bool | None]:
    from emily.core.settings import load_settings
    from emily.memory import open_episodic

    wall, first_run_step, _ = _emily_sleep(home, kill=True)
    log(f"first `emily sleep` killed after {wall:.1f} s (first step at {first_run_step} s)")
    resume_s, resume_step, last = _emily_sleep(home, kill=False)
    log(f"resumed `emily sleep` finished in {resume_s:.1f} s: {last}")
    episodic = open_episodic(load_settings(home=home))
    try:
        complete = episodic.count(consolidated=False) == 0
    finally:
        episodic.close()
    return {
        "sleep_resume_s": round(resume_s, 2),
        "sleep_resume_first_step_s": round(resume_step, 2) if resume_step else None,
        "sleep_first_run_step_s": round(first_run_step, 2) if first_run_step else None,
        "sleep_resume_complete": complete and json.loads(last).get("runs", 0) >= 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k episodes (minutes)")
    parser.add_argument("--json", action="store_true", help="print the JSON line (always last)")
    parser.add_argument(
        "--sizes", help="comma-separated episode counts (default 10000,100000; --quick 1000,10000)"
    )
    parser.add_argument("--child-reopen", nargs=2, help=argparse.SUPPRESS)  # STORE HOME
    args = parser.parse_args()
    if args.child_reopen:
        store, home = args.child_reopen
        print(json.dumps(reopen(store, Path(home))))
        return
    default = "1000,10000" if args.quick else "10000,100000"
    sizes = sorted(int(s) for s in (args.sizes or default).split(","))
    root = Path(tempfile.mkdtemp(prefix="emily-bench-recovery-"))
    out: dict[str, object] = {"sizes": sizes}
    counts_match = True
    try:
        for n in sizes:
            home = root / f"home-{n}"
            populate(home, n)
            for store in random.Random(n).sample(STORES, len(STORES)):
                elapsed, count = time_reopen(store, home)
                counts_match &= count == n
                out[f"reopen_{store}_s_{n}"] = round(elapsed, 6)  # a small outbox: under 1 ms
                log(f"reopen {store} at {n:,}: {elapsed:.3f} s ({count:,} found)")
        out["counts_match"] = counts_match
        out.update(bench_sleep_resume(root / f"home-{sizes[-1]}"))
        out["sleep_episodes"] = sizes[-1]
        out["quick"] = args.quick
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
