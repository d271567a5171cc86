"""Memory-tier benchmark: episodes recorded per second, consolidation wall time, search latency.

    python benchmarks/memory.py --quick --json     # ~1-2 min: 20k episodes, 10k consolidated
    python benchmarks/memory.py --json             # full: 100k episodes, 100k consolidated

Figures (last stdout line, one JSON object; progress and prose on stderr). Every figure is
measured at the size named beside it; nothing is scaled:
  episodes_per_s        episodes recorded per second through ``open_memory`` as a caller of
                        ``record_episodes`` gets it: embedded FalkorDB (batches of 1,000, AOF with
                        appendfsync always, Stimulus/Response/NEXT edges) plus the semantic
                        stimulus-index write (new stimulus texts embedded by the sentence model and
                        upserted into LanceDB). ``record_episodes`` episodes over
                        ``record_distinct_stimuli`` distinct stimulus texts (1 %: each text is
                        embedded once, so the share of new texts sets the cost of the index write);
                        ``stimuli_indexed`` counts the stimulus rows found in LanceDB afterwards
                        (it must equal ``record_distinct_stimuli``)
  graph_episodes_per_s  the same episodes into a fresh graph without the semantic index (the
                        runtime's journal opens the graph this way: ``open_episodic``)
  consolidate_s         wall time of sleep consolidation (DBOS on SQLite, real sentence model)
                        over ``consolidate_episodes`` episodes (10k in --quick, 100k in full)
  search_p50_ms/p99_ms  semantic search (IVF_FLAT cosine, nprobes=64, as SemanticMemory.search)
                        over ``search_vectors`` 384-d vectors, query embedding excluded
  search_recall_at_10   overlap of the top 10 with an exact scan (bypass_vector_index), mean over
                        the queries
Vectors for the search test are random unit vectors (embedding 100k texts would take minutes);
random vectors are a hard case for ANN recall, so the recall figure is conservative.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from emily.core.settings import load_settings
from emily.memory import Episode, EpisodicMemory, SentenceEmbedder, open_episodic, open_memory
from emily.memory._lance import connect_lance
from emily.memory.semantic import (
    TABLE,
    V1,
    SemanticMemory,
    semantic_schema,
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def episodes(n: int, n_stimuli: int) -> list[Episode]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Episode(
            id=f"bench-{i}",
            timestamp=t0 + timedelta(milliseconds=i),
            stimulus=f"stimulus number {i % n_stimuli}",
            response=f"response {(i // n_stimuli) % 3}",
            confirmed=i % 4 != 0,
            hypotheses=(f"hypothesis {i % 50}",) if i % 10 == 0 else (),
        )
        for i in range(n)
    ]


def record(episodic: EpisodicMemory, batch: list[Episode]) -> float:
    """Seconds to record ``batch`` in calls of 1,000 episodes each."""
    t = time.perf_counter()
    for i in range(0, len(batch), 1000):
        episodic.record_episodes(batch[i : i + 1000])
    return time.perf_counter() - t


def bench_graph_only(home: Path, n_record: int) -> dict[str, Any]:
    """Episodes per second into the graph alone (no semantic index, like the runtime's journal)."""
    batch = episodes(n_record, n_stimuli=max(n_record // 100, 1))
    episodic = open_episodic(load_settings(home=home))
    try:
        record_s = record(episodic, batch)
    finally:
        episodic.close()
    log(f"graph only: recorded {n_record:,} episodes in {record_s:.2f} s")
    return {"graph_episodes_per_s": round(n_record / record_s, 1)}


def bench_record_and_consolidate(home: Path, n_record: int, n_consolidate: int) -> dict[str, Any]:
    """Record through ``open_memory`` (graph + stimulus index), then consolidate a part."""
    settings = load_settings(home=home)
    embedder = SentenceEmbedder()
    embedder.embed(["warm-up"])  # model load is not part of the figures
    n_stimuli = max(n_record // 100, 1)
    with open_memory(settings, embedders={V1: embedder}) as memory:
        batch = episodes(n_record, n_stimuli=n_stimuli)
        record_s = record(memory.episodic, batch)
        indexed = memory.semantic.table.count_rows("kind = 'stimulus'")
        log(f"recorded {n_record:,} episodes ({indexed:,} stimuli indexed) in {record_s:.2f} s")
        # consolidate the first n_consolidate: mark the rest consolidated so they are skipped
        rest = [e.id for e in batch[n_consolidate:]]
        for i in range(0, len(rest), 5000):
            memory.episodic.mark_consolidated(rest[i : i + 5000])
        t = time.perf_counter()
        report = memory.consolidation(chunk_episodes=2000).run()
        consolidate_s = time.perf_counter() - t
        log(f"consolidated {report.episodes:,} episodes in {consolidate_s:.2f} s: {report}")
    return {
        "episodes_per_s": round(n_record / record_s, 1),
        "record_episodes": n_record,
        "record_distinct_stimuli": n_stimuli,
        "stimuli_indexed": int(indexed),
        "consolidate_s": round(consolidate_s, 2),
        "consolidate_episodes": int(report.episodes),
    }


def extrapolation_note(consolidate_s: float, episodes_done: int, target: int = 100_000) -> str:
    """Prose only (never a JSON key): what a linear scale-up of the measured run would give."""
    if episodes_done <= 0 or episodes_done >= target:
        return ""
    scaled = consolidate_s * target / episodes_done
    return (
        f"consolidation measured on {episodes_done:,} episodes only; a linear extrapolation to"
        f" {target:,} would be ~{scaled:.0f} s (not measured: run without --quick)"
    )


def bench_search(home: Path, n_vectors: int, n_queries: int = 200) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    db = connect_lance(load_settings(home=home))
    vectors = rng.standard_normal((n_vectors, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = pa.table(
        {
            "id": [f"v{i}" for i in range(n_vectors)],
            "kind": ["summary"] * n_vectors,
            "text": [f"text {i}" for i in range(n_vectors)],
            "source": ["bench"] * n_vectors,
            "created_us": [0] * n_vectors,
            "metadata": ["{}"] * n_vectors,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 384),
        },
        schema=semantic_schema(384),
    )
    db.create_table(TABLE, rows)
    sem = SemanticMemory(db, embedders={V1: SentenceEmbedder()})
    t = time.perf_counter()
    sem.optimize()  # builds the IVF_FLAT index once the table is large enough
    log(f"optimize + index over {n_vectors} vectors: {time.perf_counter() - t:.1f} s")
    queries = rng.standard_normal((n_queries, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    lat, recall = [], []
    for q in queries:
        t = time.perf_counter()
        got = [hit.record.id for hit in sem.search(q, 10)]
        lat.append((time.perf_counter() - t) * 1000)
        exact = (
            sem.table.search(q)
            .distance_type("cosine")
            .bypass_vector_index()
            .limit(10)
            .select(["id", "_distance"])
            .to_arrow()["id"]
            .to_pylist()
        )
        recall.append(len(set(got) & set(exact)) / 10)
    return {
        "search_p50_ms": round(float(np.percentile(lat, 50)), 3),
        "search_p99_ms": round(float(np.percentile(lat, 99)), 3),
        "search_recall_at_10": round(float(np.mean(recall)), 4),
        "search_vectors": n_vectors,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~1-2 minutes)")
    parser.add_argument("--json", action="store_true", help="print the JSON line (always last)")
    parser.add_argument("--episodes", type=int, help="episodes recorded (20k quick, 100k)")
    parser.add_argument("--consolidate", type=int, help="episodes consolidated (10k quick, 100k)")
    parser.add_argument("--vectors", type=int, help="vectors searched (20k quick, 100k)")
    parser.add_argument("--queries", type=int, default=200, help="search queries timed")
    args = parser.parse_args()
    args.episodes = args.episodes or (20_000 if args.quick else 100_000)
    args.consolidate = min(args.consolidate or (10_000 if args.quick else 100_000), args.episodes)
    args.vectors = args.vectors or (20_000 if args.quick else 100_000)
    return args


def main() -> None:
    args = parse_args()
    root = Path(tempfile.mkdtemp(prefix="emily-bench-memory-"))
    os.environ["EMILY_HOME"] = str(root / "home")
    try:
        out: dict[str, Any] = bench_record_and_consolidate(
            root / "home", args.episodes, args.consolidate
        )
        out |= bench_graph_only(root / "graph", args.episodes)
        out |= bench_search(root / "search", args.vectors, args.queries)
        out["quick"] = args.quick
    finally:
        shutil.rmtree(root, ignore_errors=True)
    note = extrapolation_note(out["consolidate_s"], out["consolidate_episodes"])
    if note:
        log(note)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
