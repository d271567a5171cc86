"""Benchmark: reflex lookup in the browser (the WebAssembly kernel in headless Chromium) beside
the native kernel (``HammingScan.nearest``), on the same vectors and queries.

Reproduce:
    .venv/bin/python benchmarks/reflex_wasm.py --json           # 10,000 reflexes, 3 seeds
    .venv/bin/python benchmarks/reflex_wasm.py --quick --json   # fewer queries, 2 seeds

For each seed: ``--n`` random 10,000-bit reflexes are written as a bundle
(:func:`emily.instinct.wasm.write_bundle`, the files ``emily reflexes export --wasm`` writes),
served from 127.0.0.1, and opened in Debian's Chromium through Playwright; the page times each
lookup alone with ``performance.now()`` (``Reflexes.bench`` in ``reflex_core.js``). The server
sends the cross-origin isolation headers, so the page's timer has Chromium's fine resolution
(``timer_resolution_ms`` says what it was) rather than the 0.1 ms of an ordinary page.
Queries alternate: known stimuli with 10 % of their bits flipped (a reflex's hot path: the
two-stage scan prunes) and uniformly random ones (novel: every row is read), the first
``--warmup`` discarded. The two are timed apart, as their costs differ several-fold and a
median of the mix would fall between them: ``wasm_p50_ms``, ``wasm_p99_ms``, ``native_p50_ms``
and ``native_p99_ms`` are the known queries (as in ``reflex_lookup.py``), ``*_novel_*`` the
novel ones. The same
queries go through ``HammingScan.nearest`` (faiss popcount, one thread) and every answer is
compared: ``answers_match`` is true when all slots and distances are equal.

Percentiles are over every timed lookup of every seed. The last line printed with ``--json`` is
one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from emily.instinct._kernel import HammingScan
from emily.instinct.wasm import BundleReflexes, write_bundle


class _Isolated(http.server.SimpleHTTPRequestHandler):
    """Static files with the headers that make a page cross-origin isolated (fine timers)."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".wasm": "application/wasm",
    }

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def queries_for(rows: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Half known rows with 10 % of their bits flipped, half uniformly random (interleaved)."""
    n, width = rows.shape
    known_bits = np.unpackbits(rows[rng.integers(0, n, count // 2)], axis=1)
    noise = (rng.random(known_bits.shape) < 0.10).astype(np.uint8)
    known = np.packbits(known_bits ^ noise, axis=1)
    novel = rng.integers(0, 256, (count - count // 2, width), dtype=np.uint8)
    out = np.empty((count, width), dtype=np.uint8)
    out[0::2], out[1::2] = known, novel
    return out


def native(
    rows: np.ndarray, queries: np.ndarray, dim: int
) -> tuple[list[tuple[int, int]], list[float]]:
    scan = HammingScan(dim, capacity=rows.shape[0])
    scan.add(rows)
    answers, ms = [], []
    for q in queries:
        start = time.perf_counter_ns()
        answers.append(scan.nearest(q))
        ms.append((time.perf_counter_ns() - start) / 1e6)
    return answers, ms


def in_chromium(folder: Path, queries: np.ndarray, chromium: str) -> dict[str, Any]:
    """Serve ``folder``, open its page in headless Chromium and time every query there."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Isolated, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            result: dict[str, Any] = page.evaluate(
                """(b64) => {
                    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                    let step = Infinity, last = performance.now();
                    for (let i = 0; i < 200000 && step === Infinity; i++) {
                        const now = performance.now();
                        if (now > last) step = now - last;
                        last = now;
                    }
                    return { ...window.emily.bench(bytes), resolution: step,
                             isolated: self.crossOriginIsolated };
                }""",
                base64.b64encode(queries.tobytes()).decode(),
            )
            result["version"] = browser.version
            browser.close()
            return result
    finally:
        server.shutdown()
        server.server_close()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer queries and seeds")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--n", type=int, default=10_000, help="reflexes in the bundle")
    parser.add_argument("--dim", type=int, default=10_000, help="bits per hypervector")
    parser.add_argument("--queries", type=int, default=None, help="timed lookups per seed")
    parser.add_argument("--warmup", type=int, default=100, help="untimed lookups first")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (fresh vectors each)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    count = args.queries or (500 if args.quick else 2_000)
    seeds = args.seeds or (2 if args.quick else 3)
    times: dict[str, list[float]] = {
        k: [] for k in ("wasm", "native", "wasm_novel", "native_novel")
    }
    match = True
    resolution, isolated, version = float("inf"), False, ""
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, 256, (args.n, args.dim // 8), dtype=np.uint8)
        queries = queries_for(rows, args.warmup + count, rng)
        with tempfile.TemporaryDirectory(prefix="emily-wasm-bench-") as tmp:
            ids = [f"r{i}" for i in range(args.n)]
            write_bundle(
                Path(tmp),
                BundleReflexes(rows, ids, ids, [1.0] * args.n, [""] * args.n),
                dim=args.dim,
                threshold=0.75,
                encoder=None,
                title="benchmark",
            )
            page = in_chromium(Path(tmp), queries, args.chromium)
        answers, native_ms = native(rows, queries, args.dim)
        got = list(zip(page["slots"], page["distances"], strict=True))
        match = match and got == answers
        for i in range(args.warmup, len(queries)):
            novel = "" if i % 2 == 0 else "_novel"
            times["wasm" + novel].append(page["ms"][i])
            times["native" + novel].append(native_ms[i])
        resolution = min(resolution, float(page["resolution"]))
        isolated, version = bool(page["isolated"]), str(page["version"])
        log(f"seed {seed}: answers match: {got == answers}")
    result = {
        "n": args.n,
        "dim": args.dim,
        "queries": count * seeds,
        "seeds": seeds,
        "wasm_p50_ms": percentile(times["wasm"], 50),
        "wasm_p99_ms": percentile(times["wasm"], 99),
        "native_p50_ms": percentile(times["native"], 50),
        "native_p99_ms": percentile(times["native"], 99),
        "wasm_novel_p50_ms": percentile(times["wasm_novel"], 50),
        "wasm_novel_p99_ms": percentile(times["wasm_novel"], 99),
        "native_novel_p50_ms": percentile(times["native_novel"], 50),
        "load_per_cpu": os.getloadavg()[0] / (os.cpu_count() or 1),
        "answers_match": match,
        "timer_resolution_ms": resolution,
        "cross_origin_isolated": isolated,
        "chromium": version,
        "cpu_count": os.cpu_count(),
    }
    for key, value in result.items():
        log(f"{key}: {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
