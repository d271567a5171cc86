"""Benchmark: LanceDB's own Hamming top-1 search over packed hypervectors, flat and IVF_FLAT.

Why: ADR 0005 keeps LanceDB off the reflex path (lookups scan memory; the LanceDB index serves
ad-hoc and migration queries). This measures the figure behind that choice: one top-1 query
over ``--n`` random 10,000-bit vectors stored as the reflex table stores them
(``fixed_size_list<uint8>[1250]``), first without an index (a scan of the table), then with
``idx_hdc_reflex`` built by the store's own ``create_hdc_index`` (IVF_FLAT, Hamming, one
partition per 4,096 rows; LanceDB's default probes). Queries are random vectors; p50/p99 over
``--queries`` after 3 warm-ups.

Reproduce:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lancedb_hamming.py --json          # 100k rows
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lancedb_hamming.py --n 2000 --json  # seconds

The last line printed with ``--json`` is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa

from emily.instinct.reflex_store import VECTOR_COLUMN, create_hdc_index

DIM = 10_000
WIDTH = DIM // 8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="rows in the table")
    parser.add_argument("--queries", type=int, default=30, help="timed queries per variant")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random vectors")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    return parser.parse_args()


def timed(table: Any, queries: np.ndarray) -> tuple[float, float]:
    """p50 and p99 milliseconds of a top-1 Hamming search per query (after 3 warm-ups)."""

    def search(query: np.ndarray) -> None:
        table.search(query).distance_type("hamming").limit(1).to_list()

    for query in queries[:3]:
        search(query)
    seconds = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        seconds.append(time.perf_counter() - start)
    p50, p99 = np.percentile(seconds, [50, 99]) * 1e3
    return float(p50), float(p99)


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    queries = rng.integers(0, 256, size=(args.queries, WIDTH), dtype=np.uint8)
    with tempfile.TemporaryDirectory(prefix="lancedb-hamming-") as folder:
        rows = rng.integers(0, 256, size=args.n * WIDTH, dtype=np.uint8)
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(rows), WIDTH)
        table = lancedb.connect(folder).create_table(
            "reflexes", pa.table({VECTOR_COLUMN: vectors, "id": pa.array(np.arange(args.n))})
        )
        print(f"[N={args.n:,}] flat search", file=sys.stderr, flush=True)
        flat_p50, flat_p99 = timed(table, queries)
        start = time.perf_counter()
        create_hdc_index(table)
        build = time.perf_counter() - start
        print(f"[N={args.n:,}] IVF_FLAT built in {build:.1f} s", file=sys.stderr, flush=True)
        ivf_p50, ivf_p99 = timed(table, queries)
    figures = {
        "n": args.n,
        "queries": args.queries,
        "lancedb_version": lancedb.__version__,
        "flat_p50_ms": flat_p50,
        "flat_p99_ms": flat_p99,
        "ivf_flat_build_s": build,
        "ivf_flat_p50_ms": ivf_p50,
        "ivf_flat_p99_ms": ivf_p99,
    }
    print(
        f"LanceDB Hamming top-1 at N={args.n:,}: flat p50 {flat_p50:.1f} ms, "
        f"IVF_FLAT p50 {ivf_p50:.1f} ms (built in {build:.1f} s)"
    )
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
