"""Sleep consolidation as a durable DBOS workflow: killed at any point, it finishes exactly once.

The workflow (ADR 0008): ``extract`` the unconsolidated episodes up to a cutoff and group them by
stimulus (one recorded step, so a resumed run sees the same groups), then one ``consolidate``
step per chunk of groups: promote stimulus→response pairs confirmed at least
``min_confirmations`` times (over all episodes, not just this run's) into reflexes, write a
summary per stimulus, the hypotheses and the stimuli into semantic memory, and mark the
chunk's episodes consolidated. DBOS records each finished step in its SQLite system database
under ``HOME/dbos``; a process killed mid-run resumes on the next launch at the first
unfinished step. That step may have half-run before the kill, so every write in it is an
upsert with a deterministic id (``reflex:<stimulus>``, ``summary:<run>:<stimulus>``,
``hypothesis:<key>``, ``stimulus:<key>``) and marking episodes is idempotent: re-running a
step changes nothing it already did. Hence: no memory lost, none duplicated.

Progress is read from the workflow's own step records (DBOS's SQLite), not from the graph: a
poll used to count every episode twice (all, then consolidated) five times a second, and the
single-threaded graph server spent that time away from the workflow's own queries, more so
the larger the graph. The step outputs give exact figures too: ``done`` rises once per
finished step (so ``emily sleep`` prints a line per step when piped), and a resumed run counts
the steps recorded before the kill at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbos import DBOS, DBOSConfig

from emily.core import Clock, SovereignModel, system_clock
from emily.core.settings import EmilySettings
from emily.memory._summaries import build_summary, promote
from emily.memory._time import from_micros, to_micros
from emily.memory.episodic import EpisodicMemory, text_key
from emily.memory.models import SemanticRecord
from emily.memory.reflexive import ReflexSink
from emily.memory.semantic import SemanticMemory

WORKFLOW = "emily_sleep_consolidation"
EXTRACT_STEP = "emily_sleep_extract"
CONSOLIDATE_STEP = "emily_sleep_consolidate"
APP_VERSION = "emily-memory-consolidation-1"


@dataclass
class _Runtime:
    episodic: EpisodicMemory
    semantic: SemanticMemory
    reflexes: ReflexSink
    clock: Clock


_RUNTIME: _Runtime | None = None
_LAUNCHED_URL: str | None = None


def _rt() -> _Runtime:
    if _RUNTIME is None:
        raise RuntimeError("consolidation runtime not configured; use SleepConsolidation")
    return _RUNTIME


class ConsolidationReport(SovereignModel):
    """What one ``emily sleep`` did (resumed runs included)."""

    runs: int
    episodes: int
    groups: int
    reflexes: int
    semantic_records: int


@DBOS.step(name=EXTRACT_STEP)
def _extract(cutoff_us: int) -> list[list[Any]]:
    cutoff = from_micros(cutoff_us)
    groups: dict[str, list[str]] = {}
    for episode_id, stimulus_key in _rt().episodic.pending(cutoff):
        groups.setdefault(stimulus_key, []).append(episode_id)
    return [[key, ids] for key, ids in sorted(groups.items())]


@DBOS.step(
    name=CONSOLIDATE_STEP,
    retries_allowed=True,
    max_attempts=5,
    interval_seconds=0.5,
)
def _consolidate(run_id: str, chunk: list[list[Any]], min_confirmations: int) -> list[int]:
    rt = _rt()
    keys = [key for key, _ in chunk]
    ids = [i for _, group in chunk for i in group]
    episodes = rt.episodic.get(ids)
    by_key: dict[str, list[Any]] = {}
    for e in episodes:
        by_key.setdefault(e.stimulus_key, []).append(e)
    now = rt.clock.now()
    records: list[SemanticRecord] = []
    hypotheses: dict[str, str] = {}
    for key in keys:
        group = by_key.get(key, [])
        if not group:
            continue
        records.append(build_summary(run_id, key, group, now))
        records.append(
            SemanticRecord(
                id=f"stimulus:{key}", kind="stimulus", text=group[0].stimulus, created_at=now
            )
        )
        for e in group:
            for h in e.hypotheses:
                hypotheses[text_key(h)] = h
    records += [
        SemanticRecord(
            id=f"hypothesis:{hkey}", kind="hypothesis", text=h, source="sleep", created_at=now
        )
        for hkey, h in sorted(hypotheses.items())
    ]
    reflexes = promote(rt.episodic.confirmations(keys), min_confirmations)
    rt.reflexes.add_reflexes(reflexes)
    rt.semantic.add(records)
    rt.episodic.mark_consolidated(ids)
    return [len(ids), len(reflexes), len(records)]


@DBOS.step(name="emily_sleep_finish")
def _finish() -> None:
    _rt().semantic.optimize()


@DBOS.workflow(name=WORKFLOW, max_recovery_attempts=200)
def consolidate_workflow(cutoff_us: int, chunk_episodes: int, min_confirmations: int) -> str:
    """Extract, group, consolidate chunk by chunk, compact; returns a JSON summary."""
    run_id = DBOS.workflow_id or "unknown"
    groups = _extract(cutoff_us)
    chunks: list[list[list[Any]]] = [[]]
    size = 0
    for group in groups:
        if size >= chunk_episodes:
            chunks.append([])
            size = 0
        chunks[-1].append(group)
        size += len(group[1])
    totals = [0, 0, 0]
    for chunk in chunks:
        if chunk:
            done = _consolidate(run_id, chunk, min_confirmations)
            totals = [a + b for a, b in zip(totals, done, strict=True)]
    _finish()
    return json.dumps(
        {"episodes": totals[0], "groups": len(groups), "reflexes": totals[1], "records": totals[2]}
    )


def launch_dbos(settings: EmilySettings) -> None:
    """Launch DBOS once per process and system database; recovers interrupted runs.

    The system database is ``EMILY_WORKFLOW_DB_URL`` (PostgreSQL, for several machines or
    workers) or, by default, ``HOME/dbos/system.sqlite``.
    """
    global _LAUNCHED_URL  # noqa: PLW0603 - DBOS itself is a process-wide singleton
    url = settings.workflow_db_url
    if url is None:
        folder = settings.path("dbos")
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder.resolve() / 'system.sqlite'}"
    if url == _LAUNCHED_URL:
        return
    if _LAUNCHED_URL is not None:
        DBOS.destroy()
    _drop_closed_log_handlers()
    config: DBOSConfig = {
        "name": "emily-memory",
        "system_database_url": url,
        "log_level": "WARNING",
        "application_version": APP_VERSION,
    }
    DBOS(config=config)
    DBOS.launch()
    _LAUNCHED_URL = url


def _drop_closed_log_handlers() -> None:
    # DBOS's console handler keeps the stream it found at first launch; when that stream was
    # closed since (a test runner's captured stdout), DBOS's next launch fails flushing it.
    dbos_logger = logging.getLogger("dbos")
    for handler in list(dbos_logger.handlers):
        stream = getattr(handler, "stream", None)
        if stream is not None and getattr(stream, "closed", False):
            dbos_logger.removeHandler(handler)


def shutdown_dbos() -> None:
    """Destroy the DBOS instance (workflows in flight resume on the next launch)."""
    global _LAUNCHED_URL  # noqa: PLW0603
    if _LAUNCHED_URL is not None:
        DBOS.destroy()
        _LAUNCHED_URL = None


class SleepConsolidation:
    """Run sleep consolidation: finish any interrupted run, then consolidate what is new.

    Args:
        settings: Where ``HOME/dbos`` is.
        episodic: Episodic memory to read and mark.
        semantic: Semantic memory to write summaries, hypotheses and stimuli into.
        reflexes: Where promoted reflexes go.
        min_confirmations: Confirmations needed to promote a stimulus→response pair.
        chunk_episodes: Episodes per durable step (smaller: less redone after a crash).
        clock: Injectable clock (cutoff, timestamps, progress polling).
        poll_s: Seconds between progress polls while a run is in flight.
    """

    def __init__(
        self,
        settings: EmilySettings,
        episodic: EpisodicMemory,
        semantic: SemanticMemory,
        reflexes: ReflexSink,
        *,
        min_confirmations: int = 3,
        chunk_episodes: int = 2000,
        clock: Clock | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self.settings = settings
        self.poll_s = poll_s
        self.min_confirmations = min_confirmations
        self.chunk_episodes = chunk_episodes
        self.clock = clock or system_clock()
        global _RUNTIME  # noqa: PLW0603 - DBOS steps are module-level functions
        _RUNTIME = _Runtime(episodic, semantic, reflexes, self.clock)

    def run(self, progress: Callable[[int, int], None] | None = None) -> ConsolidationReport:
        """Resume interrupted runs, then consolidate up to now.

        ``progress(done, total)`` is called about every ``poll_s`` and after each run: episodes
        consolidated by this call's runs (steps recorded before a kill included) out of the
        episodes they extracted; ``total`` grows when a new run has extracted its episodes.
        """
        launch_dbos(self.settings)
        results = []
        pending = DBOS.list_workflows(
            name=WORKFLOW,
            status=["PENDING", "ENQUEUED"],
            app_version=APP_VERSION,  # DBOS recovers only its own version's runs
            load_input=False,
            load_output=False,
        )
        handles: list[Any] = [DBOS.retrieve_workflow(w.workflow_id) for w in pending]
        cutoff = to_micros(self.clock.now())
        counted = [0, 0]  # (done, total) of the runs already finished in this call
        for handle in handles:
            results.append(self._wait(handle, progress, counted))
        handle = DBOS.start_workflow(
            consolidate_workflow, cutoff, self.chunk_episodes, self.min_confirmations
        )
        results.append(self._wait(handle, progress, counted))
        return ConsolidationReport(
            runs=len(results),
            episodes=sum(r["episodes"] for r in results),
            groups=sum(r["groups"] for r in results),
            reflexes=sum(r["reflexes"] for r in results),
            semantic_records=sum(r["records"] for r in results),
        )

    def _wait(
        self,
        handle: Any,
        progress: Callable[[int, int], None] | None,
        counted: list[int],
    ) -> dict[str, int]:
        """Wait for one run, reporting its progress from its recorded steps."""
        workflow_id = handle.get_workflow_id()
        total: int | None = None
        while handle.get_status().status in ("PENDING", "ENQUEUED"):
            if progress is not None:
                total, done = _step_progress(workflow_id, total)
                progress(counted[0] + done, counted[1] + (total or 0))
            self.clock.sleep(self.poll_s)
        result: dict[str, int] = json.loads(handle.get_result())
        counted[0] += result["episodes"]
        counted[1] += result["episodes"]
        if progress is not None:
            progress(counted[0], counted[1])
        return result


def _step_progress(workflow_id: str, total: int | None) -> tuple[int | None, int]:
    """(episodes extracted, episodes consolidated) of a run, from DBOS's step records.

    The extract step (the first) holds every episode id: it is read once (``total`` given back
    in), and later polls skip it (``offset=1``) to read only the small step outputs after it.
    """
    if total is None:
        first = DBOS.list_workflow_steps(workflow_id, limit=1)
        if not first or first[0]["function_name"] != EXTRACT_STEP or first[0]["output"] is None:
            return None, 0  # not extracted yet
        total = sum(len(ids) for _, ids in first[0]["output"])
    done = sum(
        int(step["output"][0])
        for step in DBOS.list_workflow_steps(workflow_id, offset=1)
        if step["function_name"] == CONSOLIDATE_STEP and isinstance(step["output"], list)
    )
    return total, done
