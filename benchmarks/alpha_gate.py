"""Benchmark: alpha gating throughput (vectorised) and single-call latency against the budget.

Reproduce:
    .venv/bin/python benchmarks/alpha_gate.py --json           # full run, a few seconds
    .venv/bin/python benchmarks/alpha_gate.py --quick --json   # smoke run (the test suite's)

Two figures, each on the real (system) clock:
  * signals_per_s: one ``gate(signals, timestamps)`` call over ``--signals`` samples of a 1 kHz
    stream (1M by default), best of ``--repeats`` (target: >= 10M signals/s);
  * call_p50_us / call_p99_us: ``gate()`` of 100 signals without timestamps (the runtime's
    per-stimulus call), over ``--calls`` calls; to compare with the 50 ms budget (budget_ms).
The last line printed with ``--json`` is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from emily.nervous_system import AlphaOscillatoryAttention, RegulatorConfig

TARGET_SIGNALS_PER_S = 10_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and calls (still 1M signals)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print every figure as one JSON object, last"
    )
    parser.add_argument(
        "--signals", type=int, default=1_000_000, help="signals in the vectorised call"
    )
    parser.add_argument(
        "--repeats", type=int, help="vectorised calls timed, the fastest counts (3 quick, 20)"
    )
    parser.add_argument(
        "--calls", type=int, help="100-signal calls timed for percentiles (1,000 quick, 20,000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random input")
    args = parser.parse_args()
    args.repeats = args.repeats or (3 if args.quick else 20)
    args.calls = args.calls or (1_000 if args.quick else 20_000)
    return args


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    attention = AlphaOscillatoryAttention(8.0, alpha_power=1.5)  # the system clock

    signals = rng.standard_normal(args.signals)
    timestamps = np.arange(args.signals) / 1_000.0  # a 1 kHz stream
    attention.gate(signals, timestamps)  # warm-up: page in the buffers
    runs = np.empty(args.repeats)
    for i in range(args.repeats):
        start = time.perf_counter()
        attention.gate(signals, timestamps)
        runs[i] = time.perf_counter() - start

    batch = rng.standard_normal(100)
    for _ in range(100):  # warm-up
        attention.gate(batch)
    durations = np.empty(args.calls)
    for i in range(args.calls):
        start = time.perf_counter()
        attention.gate(batch)
        durations[i] = time.perf_counter() - start
    p50, p99 = np.percentile(durations, [50, 99]) * 1e6

    budget_ms = RegulatorConfig().latency_budget_s * 1e3
    figures = {
        "benchmark": "alpha_gate",
        "quick": args.quick,
        "signals": args.signals,
        "repeats": args.repeats,
        "signals_per_s": args.signals / runs.min(),
        "signals_per_s_median": args.signals / float(np.median(runs)),
        "target_signals_per_s": TARGET_SIGNALS_PER_S,
        "calls": args.calls,
        "call_p50_us": float(p50),
        "call_p99_us": float(p99),
        "budget_ms": budget_ms,
        "p99_budget_fraction": float(p99) / (budget_ms * 1e3),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"vectorised: {figures['signals_per_s'] / 1e6:.1f}M signals/s over {args.signals:,}")
    print(f"one 100-signal call: p50 {p50:.1f} us, p99 {p99:.1f} us (budget {budget_ms:g} ms)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
