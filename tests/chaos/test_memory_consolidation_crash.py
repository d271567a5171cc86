"""Kill -9 sleep consolidation at 6 random points; after resuming, every count matches exactly.

Each round starts a child process that runs ``emily sleep``'s engine (DBOS on SQLite, the
embedded FalkorDB, LanceDB), waits until it is consolidating, and SIGKILLs it after a random
delay; in some rounds the graph server is SIGKILLed too (its AOF must hold). A final child runs
to completion. Then: every episode is consolidated, and reflexes, summaries, hypotheses and
stimuli in the stores are exactly the expected sets, with no duplicate rows.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from emily.core.settings import load_settings
from emily.memory import Episode, open_episodic, open_memory, text_key
from emily.memory._falkor_server import kill_server_hard
from emily.memory.consolidation import shutdown_dbos
from emily.memory.embedding import HashTextEmbedder
from emily.memory.semantic import V1

pytestmark = pytest.mark.slow

CHILD = """
import sys
from emily.core.settings import load_settings
from emily.memory import open_memory
from emily.memory.embedding import HashTextEmbedder
from emily.memory.semantic import V1

settings = load_settings(hdc_dim=512)
with open_memory(settings, embedders={V1: HashTextEmbedder(name=V1)}) as memory:
    print("ready", flush=True)
    report = memory.consolidation(chunk_episodes=int(sys.argv[1])).run(
        lambda done, total: print("progress", done, flush=True)
    )
    print("done", report.model_dump_json(), flush=True)
"""

N_EPISODES = 1200
N_STIMULI = 60
ROUNDS = 6


def _episodes() -> list[Episode]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Episode(
            id=f"ep-{i}",
            timestamp=t0 + timedelta(seconds=i),
            stimulus=f"stimulus {i % N_STIMULI}",
            response=f"response {(i // N_STIMULI) % 2 if i % 5 else 9}",
            confirmed=(i % N_STIMULI) % 3 != 0,
            hypotheses=(f"hypothesis {i % 7}",),
        )
        for i in range(N_EPISODES)
    ]


def _run_child(env: dict[str, str], kill_after: float | None) -> int:
    """Run one child; with ``kill_after``, SIGKILL it that long after it first makes progress.

    Waiting for progress (episodes newly marked consolidated in this process) puts the kill
    inside the workflow's steps rather than in interpreter start-up. A resumed run reports the
    steps recorded before the last kill at once, in its first progress line: progress counts
    only past that figure (else every round after the first would be killed at the same point,
    as recovery starts, before it consolidated anything).
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, "10"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    if kill_after is None:
        out, _ = proc.communicate(timeout=240)
        assert "done" in out, out
        return proc.returncode
    recorded: int | None = None  # episodes the first progress line reports: earlier rounds'
    for line in proc.stdout:
        if not line.startswith("progress"):
            continue
        done = int(line.split()[1])
        if recorded is None:
            recorded = done
        elif done > recorded:
            break
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc.stdout.close()
    return proc.returncode


def test_kill_9_at_random_points_then_resume_exactly_once() -> None:
    settings = load_settings(hdc_dim=512)
    embedders = {V1: HashTextEmbedder(name=V1)}
    with open_memory(settings, embedders=embedders) as memory:
        memory.episodic.record_episodes(_episodes())
        # stimuli confirmed >= 3 times with their best response
        expected_reflexes = {
            f"reflex:{key}"
            for key, *_rest, n in memory.episodic.confirmations(
                [text_key(f"stimulus {k}") for k in range(N_STIMULI)]
            )
            if n >= 3
        }
    env = {**os.environ, "EMILY_HOME": str(settings.home)}
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    codes = []
    progress = []
    for round_ in range(ROUNDS):
        codes.append(_run_child(env, kill_after=rng.uniform(0.0, 0.3)))
        if round_ % 3 == 1:
            kill_server_hard(settings.path("falkordb"))
        episodic = open_episodic(settings)
        progress.append(episodic.count(consolidated=True))
        episodic.close()
    print("consolidated after each kill:", progress, "exit codes:", codes)
    assert _run_child(env, kill_after=None) == 0
    assert -signal.SIGKILL in codes  # at least one round really was killed mid-run

    with open_memory(settings, embedders=embedders) as memory:
        assert memory.episodic.count() == N_EPISODES
        assert memory.episodic.count(consolidated=True) == N_EPISODES
        reflex_ids = memory.reflexes.reflex_ids()
        assert len(reflex_ids) == len(set(reflex_ids))
        assert set(reflex_ids) == expected_reflexes
        sem = memory.semantic
        all_ids = sem.ids()
        assert len(all_ids) == len(set(all_ids))  # no duplicated memory
        assert sem.count(kind="stimulus") == N_STIMULI
        assert sem.count(kind="hypothesis") == 7
        summaries = sem.get(sem.ids(kind="summary"))
        # one summary per stimulus per workflow run, covering every episode exactly once
        covered = sum(json.loads(r.metadata)["episodes"] for r in summaries)
        assert covered == N_EPISODES
        memory.semantic.optimize()
    shutdown_dbos()
    kill_server_hard(settings.path("falkordb"))
