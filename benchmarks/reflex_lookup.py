"""Benchmark: reflex lookup (exact top-1 and approximate) against torchhd and faiss, same vectors.

Reproduce:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reflex_lookup.py --json          # full
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reflex_lookup.py --quick --json  # minutes

The full run stores 1M reflexes for the approximate part and holds torchhd's float32 table
(4 bytes per bit: 4 GB at 100k), so it needs several GB of memory; HNSW alone builds for minutes.

Every contender runs single-threaded (faiss and torch set to 1 thread) on the same random
10,000-bit vectors. Queries are stored vectors with 10 % of their bits flipped (a known stimulus
seen with noise); "miss" figures use uniformly random queries (a novel stimulus).

1. Exact top-1 at each N of ``--exact-n`` (10k and 100k; quick: 10k):
   * ours: ``ReflexMemory.lookup`` (the public call: validation, two-stage popcount scan, answer);
   * torchhd (peer): its fastest exact search, ``dot_similarity(query, memory).argmax()`` on a
     float32 ``MAPTensor`` holding the vectors as +-1 (dot = D - 2 x Hamming distance, so the
     argmax is the exact Hamming top-1; every answer is checked against ours). Its BSC search
     (``hamming_similarity`` on a bool ``BSCTensor``) compares one byte per bit and is far slower;
     ``--torchhd-bsc-queries K`` times it too (``torchhd_bsc_single_p50_us``);
   * faiss ``IndexBinaryFlat`` (peer): ``search(query, 1)``, the practical limit of a flat scan.
   Single queries (p50/p99 over ``--queries``; torchhd over ``--torchhd-queries``), each peer
   interleaved with ours query by query so that load from other processes falls on both alike,
   and one batch of ``--batch`` queries (``ReflexMemory.lookup_batch`` vs
   ``IndexBinaryFlat.search`` vs one ``dot_similarity`` matrix product per 250 queries). Every
   answer of ours is checked against faiss's distances. Between two of our queries torchhd reads
   its whole float32 table (400 MB at 10k), which can evict our rows from the CPU caches, so
   ours is timed colder beside torchhd (``ours_single_p50_us_vs_torchhd``, the base of
   ``ratio_vs_torchhd``) than beside faiss: that ratio errs in torchhd's favour.
2. Query noise bands: ours vs faiss flat on ``--band-queries`` queries per band of bit noise
   (0-5 %, 5-12 %, 12-25 %, 25-40 % of the bits flipped, each query's rate drawn uniformly in its
   band), because our two-stage scan wins by skipping rows and skips fewer as a query moves away
   from every stored vector: ``ratio_vs_faiss_flat`` holds for 10 % noise only, and
   ``faiss_flat_by_noise`` gives the ratio per band (printed as a table too).
3. Memory per reflex: ``bytes_per_reflex_rss`` is the growth of the resident set of a fresh
   process (``--rss-probe N``) while N reflexes are learned, divided by N: vectors, ids, metadata
   and the allocator's slack. ``vector_bytes`` is only the packed vector width (D / 8).
4. Approximate at ``--ann-n`` (1M; quick: 100k): ``ReflexMemory`` with its multi-index-hashing
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
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import faiss
import numpy as np
import torch
import torchhd

from emily.instinct import ReflexHit, ReflexMemory, StoredReflex

DIM = 10_000
NOISE = 0.10
# Bands of query bit noise (share of bits flipped): near a stored vector our scan skips most rows'
# tails; far from every stored vector it completes them all, like a flat scan.
NOISE_BANDS = ((0.0, 0.05), (0.05, 0.12), (0.12, 0.25), (0.25, 0.40))
TORCHHD_BATCH_CHUNK = 250  # queries per dot_similarity matrix product (bounds its output)


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
    p.add_argument("--band-queries", type=int, help="queries per noise band (default --queries)")
    p.add_argument("--batch", type=int, default=1_000, help="queries in the batch lookup")
    p.add_argument("--torchhd-queries", type=int, default=200, help="torchhd queries timed")
    p.add_argument(
        "--torchhd-bsc-queries", type=int, default=0, help="also time torchhd's BSC search (slow)"
    )
    p.add_argument("--hnsw-ef", type=int, default=256, help="efSearch of the HNSW peer")
    p.add_argument("--seed", type=int, default=0, help="seed of the random vectors")
    p.add_argument("--rss-probe", type=int, metavar="N", help=argparse.SUPPRESS)
    a = p.parse_args()
    a.exact_n = a.exact_n or ([10_000] if a.quick else [10_000, 100_000])
    a.ann_n = a.ann_n or (100_000 if a.quick else 1_000_000)
    a.hnsw_n = a.hnsw_n or (10_000 if a.quick else 100_000)
    a.queries = a.queries or (300 if a.quick else 1_000)
    a.band_queries = a.band_queries or a.queries
    return a


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def noisy(
    stored: np.ndarray, rows: np.ndarray, rng: np.random.Generator, noise: Any = NOISE
) -> np.ndarray:
    """Copies of ``stored[rows]`` with each bit flipped with probability ``noise`` (a scalar,
    or one rate per row)."""
    rates = np.broadcast_to(np.asarray(noise, dtype=np.float64), (len(rows),))[:, None]
    flips = np.packbits(rng.random((len(rows), DIM)) < rates, axis=1)
    out: np.ndarray = stored[rows] ^ flips
    return out


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
    ours: Callable[[Any], Any],
    peer: Callable[[Any], Any],
    queries: Sequence[Any] | np.ndarray,
    peer_queries: Sequence[Any] | np.ndarray | None = None,
) -> tuple[np.ndarray, list[Any], np.ndarray, list[Any]]:
    """``timed`` for two contenders, interleaved query by query, so that load from other
    processes on a shared machine falls on both alike. ``peer_queries`` are the same queries in
    the peer's own format (its conversion is not timed), ``queries`` when omitted."""
    pq = queries if peer_queries is None else peer_queries
    warm = min(10, len(queries))
    for i in range(warm):
        ours(queries[i])
        peer(pq[i])
    answers: tuple[list[Any], list[Any]] = ([], [])
    secs = np.empty((2, len(queries)))
    for i in range(len(queries)):
        for k, (fn, q) in enumerate(((ours, queries[i]), (peer, pq[i]))):
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


def distance(answer: Any) -> int:
    """Hamming distance of our answer (hit or miss) to the query."""
    return round((1.0 - float(answer.similarity)) * DIM)


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_probe(n: int, seed: int) -> dict[str, Any]:
    """In this (fresh) process: resident-set growth while ``n`` reflexes are learned, per reflex.

    The vectors are generated before the first reading, so only what ``ReflexMemory`` keeps
    (packed rows, ids, metadata, index maps) and the allocator's slack count.
    """
    stored = np.random.default_rng(seed).integers(0, 256, size=(n, DIM // 8), dtype=np.uint8)
    gc.collect()
    before = rss_bytes()
    memory = make_memory(stored, threshold=0.75)
    gc.collect()
    after = rss_bytes()
    assert len(memory) == n
    return {"n": n, "rss_before": before, "rss_after": after, "bytes": (after - before) / n}


def bytes_per_reflex_rss(n: int, seed: int) -> float:
    """``rss_probe`` in a fresh interpreter, so that memory freed by earlier parts of this run
    (and reused by the allocator) cannot hide part of the growth."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss-probe", str(n), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    log(
        f"[rss N={n:,}] {probe['rss_before'] / 2**20:.0f} -> {probe['rss_after'] / 2**20:.0f} MiB,"
        f" {probe['bytes']:.0f} B per reflex"
    )
    return float(probe["bytes"])


def to_map(packed: np.ndarray) -> torch.Tensor:
    """Packed bits as torchhd MAP hypervectors: bit b -> 1 - 2b (float32, so matmul is BLAS)."""
    out = torch.empty((len(packed), DIM), dtype=torch.float32)
    for start in range(0, len(packed), 10_000):  # bounds the temporary of unpacking
        bits = np.unpackbits(packed[start : start + 10_000], axis=1)
        out[start : start + len(bits)] = torch.from_numpy(1.0 - 2.0 * bits.astype(np.float32))
    table: torch.Tensor = torchhd.ensure_vsa_tensor(out, vsa="MAP")
    return table


def torchhd_part(
    memory: ReflexMemory,
    stored: np.ndarray,
    hits: np.ndarray,
    batch: np.ndarray,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """torchhd's fastest exact search (MAP ``dot_similarity``) against ours, interleaved."""
    n = len(stored)
    log(f"[exact N={n:,}] torchhd MAP dot_similarity, {args.torchhd_queries} single queries")
    table = to_map(stored)
    queries = hits[: args.torchhd_queries]
    map_queries = to_map(queries)

    def torchhd_lookup(q: torch.Tensor) -> tuple[int, int]:
        dots = torchhd.dot_similarity(q, table)
        best = int(dots.argmax())
        return best, round((DIM - float(dots[best])) / 2)  # Hamming distance of the best row

    ours_secs, answers, th_secs, th_answers = timed_pair(
        memory.lookup, torchhd_lookup, list(queries), list(map_queries)
    )
    agree = all(distance(a) == d for a, (_, d) in zip(answers, th_answers, strict=True))

    map_batch = to_map(batch)
    start = time.perf_counter()
    best = [
        torchhd.dot_similarity(map_batch[i : i + TORCHHD_BATCH_CHUNK], table).argmax(-1)
        for i in range(0, len(map_batch), TORCHHD_BATCH_CHUNK)
    ]
    th_batch = time.perf_counter() - start
    assert sum(len(b) for b in best) == len(batch)
    th_p50 = pct(th_secs, 50)
    row = {
        "torchhd_method": "MAPTensor float32 dot_similarity + argmax (exact)",
        "torchhd_queries": len(queries),
        "torchhd_single_p50_us": th_p50,
        "torchhd_single_p99_us": pct(th_secs, 99),
        "ours_single_p50_us_vs_torchhd": pct(ours_secs, 50),
        "ratio_vs_torchhd": th_p50 / pct(ours_secs, 50),
        "torchhd_batch_s": th_batch,
        "torchhd_vector_bytes": 4 * DIM,
        "answers_match_torchhd": agree,
    }
    return row


def torchhd_bsc(stored: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """torchhd's BSC search (bool tensors, one byte per bit), the former peer, for comparison."""
    log(f"[exact N={len(stored):,}] torchhd BSC hamming_similarity, {len(queries)} queries")
    table = torchhd.ensure_vsa_tensor(
        torch.from_numpy(np.unpackbits(stored, axis=1).astype(np.bool_)), vsa="BSC"
    )

    def lookup(q: np.ndarray) -> int:
        query = torchhd.ensure_vsa_tensor(torch.from_numpy(np.unpackbits(q).astype(np.bool_)))
        return int(torchhd.hamming_similarity(query, table).argmax())

    secs, _ = timed(lookup, queries)  # its first calls warm up, as for every contender
    return {"torchhd_bsc_queries": len(queries), "torchhd_bsc_single_p50_us": pct(secs, 50)}


def noise_bands(
    memory: ReflexMemory,
    flat: Any,
    stored: np.ndarray,
    args: argparse.Namespace,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Ours vs faiss flat per band of query bit noise (answers checked against faiss's)."""
    n = len(stored)
    rows = []
    for lo, hi in NOISE_BANDS:
        picked = rng.integers(0, n, args.band_queries)
        queries = noisy(stored, picked, rng, rng.uniform(lo, hi, args.band_queries))
        ours, answers, peer, peer_answers = timed_pair(
            memory.lookup, lambda q: flat.search(q[None], 1), queries
        )
        agree = all(
            distance(a) == int(d[0][0, 0]) for a, d in zip(answers, peer_answers, strict=True)
        )
        rows.append(
            {
                "noise_band": f"{lo:.0%}-{hi:.0%}",
                "noise_min": lo,
                "noise_max": hi,
                "queries": len(queries),
                "ours_p50_us": pct(ours, 50),
                "faiss_flat_p50_us": pct(peer, 50),
                "ratio_vs_faiss_flat": pct(peer, 50) / pct(ours, 50),
                "hit_share": float(np.mean([isinstance(a, ReflexHit) for a in answers])),
                "answers_match_faiss": agree,
            }
        )
        log(
            f"[exact N={n:,}] noise {rows[-1]['noise_band']}: ours {rows[-1]['ours_p50_us']:.0f}"
            f" us, faiss flat {rows[-1]['faiss_flat_p50_us']:.0f} us,"
            f" {rows[-1]['ratio_vs_faiss_flat']:.2f}x"
        )
    return rows


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
    agree = all(distance(a) == int(d[0][0, 0]) for a, d in zip(answers, flat_answers, strict=True))

    log(f"[exact N={n:,}] batch of {args.batch}")
    start = time.perf_counter()
    batch_answers = memory.lookup_batch(batch)
    ours_batch = time.perf_counter() - start
    start = time.perf_counter()
    flat_d, _ = flat.search(batch, 1)
    flat_batch = time.perf_counter() - start
    agree = agree and all(
        distance(a) == int(d) for a, d in zip(batch_answers, flat_d[:, 0], strict=True)
    )

    bands = noise_bands(memory, flat, stored, args, rng)
    peer = torchhd_part(memory, stored, hits, batch, args)
    if args.torchhd_bsc_queries:
        peer |= torchhd_bsc(stored, hits[: args.torchhd_bsc_queries])
    del stored

    ours_p50 = pct(ours_hit, 50)
    row = {
        "n": n,
        "ours_single_p50_us": ours_p50,
        "ours_single_p99_us": pct(ours_hit, 99),
        "ours_single_miss_p50_us": pct(ours_miss, 50),
        "ours_single_miss_p99_us": pct(ours_miss, 99),
        "faiss_flat_single_p50_us": pct(flat_hit, 50),
        "faiss_flat_single_p99_us": pct(flat_hit, 99),
        "faiss_flat_single_miss_p50_us": pct(flat_miss, 50),
        "ratio_vs_faiss_flat": pct(flat_hit, 50) / ours_p50,
        "ratio_vs_faiss_flat_miss": pct(flat_miss, 50) / pct(ours_miss, 50),
        "faiss_flat_by_noise": bands,
        **peer,
        "ours_batch_s": ours_batch,
        "faiss_flat_batch_s": flat_batch,
        "batch_ratio_vs_faiss_flat": flat_batch / ours_batch,
        "batch_ratio_vs_torchhd": peer["torchhd_batch_s"] / ours_batch,
        "bytes_per_reflex_rss": bytes_per_reflex_rss(n, args.seed),
        "vector_bytes": memory.bytes_per_reflex,
        "faiss_flat_vector_bytes": flat.code_size,
        "answers_match_faiss": agree and all(band["answers_match_faiss"] for band in bands),
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


def band_table(n: int, bands: list[dict[str, Any]]) -> str:
    """The faiss-flat ratio per query-noise band, as printed."""
    lines = [
        f"N={n:,}: ours vs faiss IndexBinaryFlat by query bit noise (p50, single queries)",
        f"  {'noise':>8} {'ours us':>9} {'faiss us':>9} {'ratio':>7} {'hits':>6}",
    ]
    lines += [
        f"  {b['noise_band']:>8} {b['ours_p50_us']:>9.0f} {b['faiss_flat_p50_us']:>9.0f}"
        f" {b['ratio_vs_faiss_flat']:>6.2f}x {b['hit_share']:>6.0%}"
        for b in bands
    ]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    faiss.omp_set_num_threads(1)
    torch.set_num_threads(1)
    if args.rss_probe:
        print(json.dumps(rss_probe(args.rss_probe, args.seed)))
        return
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
        "ratio_query_noise": NOISE,
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
        f"N={head['n']:,}: ours {head['ours_single_p50_us']:.0f} us p50 at {NOISE:.0%} query noise,"
        f" {head['ratio_vs_faiss_flat']:.2f}x faiss flat (this noise only: see the bands below),"
        f" {head['ratio_vs_torchhd']:.1f}x torchhd MAP dot_similarity;"
        f" {head['bytes_per_reflex_rss']:.0f} B per reflex (RSS);"
        f" ANN N={ann['ann_n']:,}: recall@1 {ann['ann_recall_at_1']:.3f},"
        f" p99 {ann['ann_p99_us']:.0f} us"
    )
    for row in exact:
        print(band_table(row["n"], row["faiss_flat_by_noise"]))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
