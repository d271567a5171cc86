"""Benchmark: reflex lookup (exact top-1 and approximate) against torchhd and faiss, same vectors.

Reproduce:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reflex_lookup.py --json          # ~10 min, ~7 GB
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reflex_lookup.py --quick --json  # < 1 min

Every contender runs single-threaded (faiss and torch set to 1 thread) on the same random
10,000-bit vectors. Queries are stored vectors with 10 % of their bits flipped (a known stimulus
seen with noise); "miss" figures use uniformly random queries (a novel stimulus).

1. Exact top-1 at each N of ``--exact-n`` (10k and 100k; quick: 10k):
   * ours: ``ReflexMemory.lookup`` (the public call: validation, two-stage popcount scan, answer);
   * torchhd (peer): ``hamming_similarity(query, memory).argmax()`` on a ``BSCTensor``;
   * faiss ``IndexBinaryFlat`` (peer): ``search(query, 1)``, the practical limit of a flat scan.
   Single queries (p50/p99 over ``--queries``, ours and faiss interleaved query by query so that
   load from other processes falls on both alike) and one batch of ``--batch`` queries
   (``ReflexMemory.lookup_batch`` vs ``IndexBinaryFlat.search``; torchhd's batch is its
   per-query time x batch, measured on a few queries, since it has no batched exact search that
   fits in memory). Every answer of ours is checked against faiss's distances.
2. Approximate at ``--ann-n`` (1M; quick: 100k): ``ReflexMemory`` with its multi-index-hashing
   index vs faiss ``IndexBinaryHNSW`` (M=32, efSearch 256) at ``--hnsw-n`` (100k; quick: 10k),
   each with recall@1 against the exact top-1 and p50/p99 latency. HNSW is built with every
   core (building is offline) and still took 5-6 min for 100k vectors on the shared 2-core
   machine, so its default N is smaller than ours; pass ``--hnsw-n 1000000`` where an hour is
   available.

Ratios are peer time / our time (above 1: we are faster). The last line printed with ``--json``
is one JSON object; progress goes to stderr. The store is a no-op here: this measures lookups,
not persistence (``tests/integration/instinct`` covers that).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import faiss
import numpy as np
import torch
import torchhd

from emily.instinct import ReflexMemory, StoredReflex

DIM = 10_000
NOISE = 0.10


class NullStore:
    """A store that keeps nothing: lookups are measured, not persistence."""

    def load(self) -> list[StoredReflex]:
        return []

    def upsert(self, reflexes: Sequence[StoredReflex]) -> None:
        pass

    def delete(self, ids: Sequence[str]) -> None:
        pass


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller N (10k exact, 100k ANN)")
    p.add_argument("--json", action="store_true", help="print every figure as one JSON line, last")
    p.add_argument("--exact-n", type=int, nargs="+", help="stored reflexes, exact part")
    p.add_argument("--ann-n", type=int, help="stored reflexes, approximate part")
    p.add_argument("--hnsw-n", type=int, help="stored reflexes for faiss IndexBinaryHNSW")
    p.add_argument("--queries", type=int, help="single queries timed (300 quick, 1,000)")
    p.add_argument("--batch", type=int, default=1_000, help="queries in the batch lookup")
    p.add_argument("--torchhd-queries", type=int, default=3, help="torchhd queries timed")
    p.add_argument("--hnsw-ef", type=int, default=256, help="efSearch of the HNSW peer")
    p.add_argument("--seed", type=int, default=0, help="seed of the random vectors")
    a = p.parse_args()
    a.exact_n = a.exact_n or ([10_000] if a.quick else [10_000, 100_000])
    a.ann_n = a.ann_n or (100_000 if a.quick else 1_000_000)
    a.hnsw_n = a.hnsw_n or (10_000 if a.quick else 100_000)
    a.queries = a.queries or (300 if a.quick else 1_000)
    return a


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def noisy(stored: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``stored[rows]`` with each bit flipped with probability NOISE."""
    flips = np.packbits(rng.random((len(rows), DIM)) < NOISE, axis=1)
    return stored[rows] ^ flips


def timed(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Per-query seconds and answers of ``fn`` over ``queries`` (after 10 warm-up calls)."""
    for q in queries[:10]:
        fn(q)
    out, secs = [], np.empty(len(queries))
    for i, q in enumerate(queries):
        start = time.perf_counter()
        out.append(fn(q))
        secs[i] = time.perf_counter() - start
    return secs, out


def timed_pair(
    ours: Callable[[np.ndarray], Any], peer: Callable[[np.ndarray], Any], queries: np.ndarray
) -> tuple[np.ndarray, list[Any], np.ndarray, list[Any]]:
    """``timed`` for two contenders, interleaved query by query, so that load from other
    processes on a shared machine falls on both alike."""
    for q in queries[:10]:
        ours(q)
        peer(q)
    answers: tuple[list[Any], list[Any]] = ([], [])
    secs = np.empty((2, len(queries)))
    for i, q in enumerate(queries):
        for k, fn in enumerate((ours, peer)):
            start = time.perf_counter()
            answers[k].append(fn(q))
            secs[k, i] = time.perf_counter() - start
    return secs[0], answers[0], secs[1], answers[1]


def pct(secs: np.ndarray, q: float) -> float:
    return float(np.percentile(secs, q) * 1e6)


def make_memory(stored: np.ndarray, **kwargs: Any) -> ReflexMemory:
    memory = ReflexMemory(DIM, store=NullStore(), **kwargs)
    for start in range(0, len(stored), 50_000):
        chunk = stored[start : start + 50_000]
        ids = [f"r{start + i}" for i in range(len(chunk))]
        memory.learn_many(list(chunk), ids, [1.0] * len(chunk), ids)
    return memory


def exact_part(n: int, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    log(f"[exact N={n:,}] generating vectors")
    stored = rng.integers(0, 256, size=(n, DIM // 8), dtype=np.uint8)
    hits = noisy(stored, rng.integers(0, n, args.queries), rng)
    misses = rng.integers(0, 256, size=(args.queries, DIM // 8), dtype=np.uint8)
    batch = noisy(stored, rng.integers(0, n, args.batch), rng)

    memory = make_memory(stored, threshold=0.75)
    flat = faiss.IndexBinaryFlat(DIM)
    flat.add(stored)

    log(f"[exact N={n:,}] ours and faiss IndexBinaryFlat, {args.queries} single queries")

    def flat_search(q: np.ndarray) -> Any:
        return flat.search(q[None], 1)

    ours_hit, answers, flat_hit, flat_answers = timed_pair(memory.lookup, flat_search, hits)
    ours_miss, _, flat_miss, _ = timed_pair(memory.lookup, flat_search, misses)
    agree = all(
        round((1.0 - a.similarity) * DIM) == int(d[0][0, 0])
        for a, d in zip(answers, flat_answers, strict=True)
    )

    log(f"[exact N={n:,}] batch of {args.batch}")
    start = time.perf_counter()
    batch_answers = memory.lookup_batch(batch)
    ours_batch = time.perf_counter() - start
    start = time.perf_counter()
    flat_d, _ = flat.search(batch, 1)
    flat_batch = time.perf_counter() - start
    agree = agree and all(
        round((1.0 - a.similarity) * DIM) == int(d)
        for a, d in zip(batch_answers, flat_d[:, 0], strict=True)
    )

    log(f"[exact N={n:,}] torchhd exact search, {args.torchhd_queries} queries")
    table = torchhd.ensure_vsa_tensor(
        torch.from_numpy(np.unpackbits(stored, axis=1).astype(np.bool_)), vsa="BSC"
    )
    del stored

    def torchhd_lookup(q: np.ndarray) -> int:
        query = torchhd.ensure_vsa_tensor(torch.from_numpy(np.unpackbits(q).astype(np.bool_)))
        return int(torchhd.hamming_similarity(query, table).argmax())

    torch_q = hits[: args.torchhd_queries]
    torchhd_lookup(torch_q[0])  # warm-up
    torch_secs = np.empty(len(torch_q))
    for i, q in enumerate(torch_q):
        start = time.perf_counter()
        torchhd_lookup(q)
        torch_secs[i] = time.perf_counter() - start
    torch_bytes = table.element_size() * DIM

    ours_p50 = pct(ours_hit, 50)
    row = {
        "n": n,
        "ours_single_p50_us": ours_p50,
        "ours_single_p99_us": pct(ours_hit, 99),
        "ours_single_miss_p50_us": pct(ours_miss, 50),
        "ours_single_miss_p99_us": pct(ours_miss, 99),
        "torchhd_single_p50_us": pct(torch_secs, 50),
        "faiss_flat_single_p50_us": pct(flat_hit, 50),
        "faiss_flat_single_p99_us": pct(flat_hit, 99),
        "faiss_flat_single_miss_p50_us": pct(flat_miss, 50),
        "ratio_vs_torchhd": pct(torch_secs, 50) / ours_p50,
        "ratio_vs_faiss_flat": pct(flat_hit, 50) / ours_p50,
        "ratio_vs_faiss_flat_miss": pct(flat_miss, 50) / pct(ours_miss, 50),
        "ours_batch_s": ours_batch,
        "faiss_flat_batch_s": flat_batch,
        "torchhd_batch_s_extrapolated": float(np.median(torch_secs)) * args.batch,
        "batch_ratio_vs_faiss_flat": flat_batch / ours_batch,
        "batch_ratio_vs_torchhd": float(np.median(torch_secs)) * args.batch / ours_batch,
        "bytes_per_reflex": memory.bytes_per_reflex,
        "torchhd_bytes_per_reflex": torch_bytes,
        "faiss_flat_bytes_per_reflex": flat.code_size,
        "answers_match_faiss": agree,
    }
    log(
        f"[exact N={n:,}] ours p50 {ours_p50:.0f} us (miss {row['ours_single_miss_p50_us']:.0f}),"
        f" faiss flat {row['faiss_flat_single_p50_us']:.0f} us,"
        f" torchhd {row['torchhd_single_p50_us']:.0f} us"
    )
    return row


def ann_part(args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    n = args.ann_n
    log(f"[ann N={n:,}] generating vectors")
    stored = rng.integers(0, 256, size=(n, DIM // 8), dtype=np.uint8)
    rows = rng.integers(0, n, args.queries)
    queries = noisy(stored, rows, rng)
    memory = make_memory(stored, threshold=0.75, approximate_above=1)
    start = time.perf_counter()
    memory.rebuild_index()
    build = time.perf_counter() - start
    log(f"[ann N={n:,}] multi-index hashing built in {build:.1f} s; timing")
    secs, answers = timed(memory.lookup, queries)
    found = np.array([int(a.reflex_id[1:]) if hasattr(a, "response") else -1 for a in answers])
    truth, _ = memory._scan.nearest_batch(queries)  # exact top-1 (slots equal ids here)
    recall = float(np.mean(found == truth))
    del memory

    hn = args.hnsw_n
    log(f"[hnsw N={hn:,}] building faiss IndexBinaryHNSW(M=32)")
    hnsw = faiss.IndexBinaryHNSW(DIM, 32)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is offline: use every core
    start = time.perf_counter()
    hnsw.add(stored[:hn])
    hnsw_build = time.perf_counter() - start
    faiss.omp_set_num_threads(1)
    hnsw.hnsw.efSearch = args.hnsw_ef
    hq_rows = rng.integers(0, hn, args.queries)
    hq = noisy(stored, hq_rows, rng)
    flat = faiss.IndexBinaryFlat(DIM)
    flat.add(stored[:hn])
    _, hnsw_truth = flat.search(hq, 1)
    del stored
    hsecs, hanswers = timed(lambda q: hnsw.search(q[None], 1)[1][0, 0], hq)
    hnsw_recall = float(np.mean(np.array(hanswers) == hnsw_truth[:, 0]))
    figures = {
        "ann_n": n,
        "ann_method": "multi-index hashing (faiss IndexBinaryMultiHash, 16 x 24 bits, 1 flip)",
        "ann_recall_at_1": recall,
        "ann_p50_us": pct(secs, 50),
        "ann_p99_us": pct(secs, 99),
        "ann_build_s": build,
        "hnsw_n": hn,
        "hnsw_ef_search": args.hnsw_ef,
        "hnsw_recall_at_1": hnsw_recall,
        "hnsw_p50_us": pct(hsecs, 50),
        "hnsw_p99_us": pct(hsecs, 99),
        "hnsw_build_s": hnsw_build,
    }
    log(
        f"[ann N={n:,}] recall@1 {recall:.3f}, p50 {figures['ann_p50_us']:.0f} us,"
        f" p99 {figures['ann_p99_us']:.0f} us; HNSW (N={hn:,}) recall@1 {hnsw_recall:.3f},"
        f" p99 {figures['hnsw_p99_us']:.0f} us, build {hnsw_build:.0f} s"
    )
    return figures


def main() -> None:
    args = parse_args()
    faiss.omp_set_num_threads(1)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    exact = [exact_part(n, args, rng) for n in args.exact_n]
    ann = ann_part(args, rng)
    head = exact[-1]  # the largest exact N carries the headline figures
    figures = {
        "benchmark": "reflex_lookup",
        "quick": args.quick,
        "dim": DIM,
        "noise": NOISE,
        "queries": args.queries,
        **head,
        "peer": "faiss IndexBinaryFlat",
        "ratio": head["ratio_vs_faiss_flat"],
        "exact": exact,
        **ann,
        "threads": 1,
        "faiss": faiss.__version__,
        "torchhd": getattr(torchhd, "__version__", "unknown"),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(
        f"N={head['n']:,}: ours {head['ours_single_p50_us']:.0f} us p50,"
        f" {head['ratio_vs_torchhd']:.0f}x torchhd, {head['ratio_vs_faiss_flat']:.2f}x faiss flat;"
        f" ANN N={ann['ann_n']:,}: recall@1 {ann['ann_recall_at_1']:.3f},"
        f" p99 {ann['ann_p99_us']:.0f} us"
    )
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
