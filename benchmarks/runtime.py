"""Benchmark the triune runtime's reflex path, with episodic journaling on.

Figures (last printed line, one JSON object with ``--json``):

* ``stimuli_per_s``: stimuli answered per second through the whole loop (alpha gate, regulator,
  encoder, reflex scan, metrics, journal append) with ``handle_many`` batches, while the journal
  writes episodes to the embedded FalkorDB on its own thread; ``stimuli_per_s_drained`` also
  counts the time until every episode is in the graph (``episodes_written`` must equal
  ``stimuli``, checked here).
* ``inproc_p50_ms`` / ``inproc_p99_ms``: per-stimulus ``handle`` latency in this process
  (over ``latency_stimuli`` stimuli after the throughput stream).
* ``reflex_hit_share``: share of the measured stimuli (throughput and latency streams, not the
  warm-up) answered by a reflex hit; ``reflex_hit_share_stimuli`` is its denominator and equals
  ``stimuli + latency_stimuli``.
* ``bus_p50_ms`` / ``bus_p99_ms``: round trip across processes over Zenoh on loopback: this
  process publishes one stimulus, a second process (``--serve``) answers it on the bus, and
  the answer's arrival here ends the measurement (one stimulus in flight at a time).

Reflexes are learned first from the 178 clean wines (the demo data); the measured stream is the
demo's noisy wines without labels, so every answer takes the reflex path (hit, miss or
suppressed by the gate) and nothing is learned while measuring.

Usage: ``python benchmarks/runtime.py [--quick] --json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGETS = {"stimuli_per_s": 20_000, "inproc_p99_ms": 1.0, "bus_p99_ms": 2.0}


def _runtime(home: Path, bus: Any = None) -> Any:
    os.environ["EMILY_HOME"] = str(home)
    from emily.core.settings import load_settings
    from emily.runtime.builder import build_runtime, demo_schema
    from emily.runtime.stimuli import demo_dataset

    dataset = demo_dataset()
    runtime = build_runtime(load_settings(), demo_schema(dataset), journal=True, bus=bus)
    features = [dict(zip(dataset.feature_names, row, strict=True)) for row in dataset.rows]
    runtime.reflexes.learn_many(features, list(dataset.labels), [1.0] * len(features))
    return runtime


def _stream(n: int, seed: int) -> list[Any]:
    from emily.runtime.stimuli import demo_dataset, demo_stream

    return [
        s.model_copy(update={"label": None})
        for s in demo_stream(demo_dataset(), seed=seed, limit=n)
    ]


def _percentiles_ms(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values) * 1e3
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


ANSWER_TIERS = ("instinct", "none", "suppressed")


def _reflex_hits(before: dict[str, int], after: dict[str, int]) -> tuple[int, int]:
    """Reflex hits and answered stimuli between two tier snapshots.

    Counted as differences so that the warm-up (which primes the encoder and the journal) is
    not part of the measured share.
    """
    answered = sum(after.get(k, 0) - before.get(k, 0) for k in ANSWER_TIERS)
    return after.get("instinct", 0) - before.get("instinct", 0), answered


def measure_inproc(home: Path, n: int, n_latency: int, batch: int) -> dict[str, Any]:
    runtime = _runtime(home)
    try:
        warm = _stream(2 * batch, seed=7)
        runtime.handle_many(warm)
        for s in warm[:200]:
            runtime.handle(s)
        runtime.journal.flush(120)
        written_before = runtime.journal.written
        tiers_before, _, _ = runtime.snapshot()

        stimuli = _stream(n, seed=1)
        start = time.perf_counter()
        for i in range(0, n, batch):
            runtime.handle_many(stimuli[i : i + batch])
        answered_s = time.perf_counter() - start
        drained = runtime.journal.flush(300)
        drained_s = time.perf_counter() - start

        latencies = []
        for s in _stream(n_latency, seed=2):
            t0 = time.perf_counter()
            runtime.handle(s)
            latencies.append(time.perf_counter() - t0)
        runtime.journal.flush(300)
        written = runtime.journal.written - written_before
        tiers_after, _, _ = runtime.snapshot()
    finally:
        runtime.close()
    p50, p99 = _percentiles_ms(latencies)
    hits, answered = _reflex_hits(tiers_before, tiers_after)
    return {
        "stimuli": n,
        "latency_stimuli": n_latency,
        "batch": batch,
        "stimuli_per_s": n / answered_s,
        "stimuli_per_s_drained": n / drained_s,
        "journal_drained": drained,
        "episodes_written": written,
        "episodes_match": written == n + n_latency,
        "reflex_hit_share": hits / max(answered, 1),
        "reflex_hit_share_stimuli": answered,
        "inproc_p50_ms": p50,
        "inproc_p99_ms": p99,
    }


def serve(endpoint: str, home: Path) -> None:
    """The second process: answer stimuli from the bus on the bus until the end marker."""
    from emily.runtime.bus import BusStimuli, ZenohBus

    with ZenohBus(endpoint, "listen") as session:
        runtime = _runtime(home, bus=session)
        incoming = BusStimuli(session)
        print("ready", flush=True)
        answered = 0
        for stimulus in incoming:
            runtime.handle(stimulus)
            answered += 1
        runtime.bus.drain()
        runtime.journal.flush(300)
        written = runtime.journal.written
        runtime.close()
    print(json.dumps({"answered": answered, "episodes_written": written}), flush=True)


def measure_bus(home: Path, n: int) -> dict[str, Any]:
    from emily.runtime.bus import ANSWERS_KEY, STIMULI_END_KEY, STIMULI_KEY, ZenohBus

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"tcp/127.0.0.1:{sock.getsockname()[1]}"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", endpoint, "--home", str(home)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    try:
        assert server.stdout.readline().strip() == "ready"
        arrived = threading.Event()
        received: list[str] = []

        def on_answer(_key: str, payload: bytes) -> None:
            received.append(json.loads(payload)["stimulus_id"])
            arrived.set()

        with ZenohBus(endpoint, "connect") as client:
            client.subscribe(ANSWERS_KEY, on_answer)
            key = f"{STIMULI_KEY}/in"
            deadline = time.monotonic() + 30
            while not client.has_subscribers(key) and time.monotonic() < deadline:
                time.sleep(0.01)
            stimuli = _stream(n + 100, seed=3)
            payloads = [s.model_dump_json().encode() for s in stimuli]
            latencies = []
            for i, payload in enumerate(payloads):
                arrived.clear()
                t0 = time.perf_counter()
                client.publish(key, payload)
                if not arrived.wait(10):
                    raise RuntimeError(f"no answer to stimulus {i} within 10 s")
                if i >= 100:  # the first 100 warm the link and the runtime
                    latencies.append(time.perf_counter() - t0)
            client.publish(STIMULI_END_KEY, str(len(payloads)).encode())
            out, _ = server.communicate(timeout=300)
    finally:
        if server.poll() is None:
            server.kill()
    summary = json.loads(out.strip().splitlines()[-1])
    p50, p99 = _percentiles_ms(latencies)
    return {
        "bus_round_trips": len(latencies),
        "bus_p50_ms": p50,
        "bus_p99_ms": p99,
        "bus_answers_received": len(received),
        "bus_answers_match": len(received) == len(payloads) == summary["answered"],
        "bus_server_episodes_written": summary["episodes_written"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--serve", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=256, help="handle_many batch size")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.home)
        return
    n, n_latency, n_bus = (3_000, 1_000, 300) if args.quick else (50_000, 20_000, 5_000)
    with tempfile.TemporaryDirectory(prefix="emily-bench-runtime-") as tmp:
        figures = measure_inproc(Path(tmp) / "inproc", n, n_latency, args.batch)
        figures |= measure_bus(Path(tmp) / "bus", n_bus)
    figures["quick"] = args.quick
    figures["targets"] = TARGETS
    figures["targets_met"] = {
        "stimuli_per_s": figures["stimuli_per_s"] >= TARGETS["stimuli_per_s"],
        "inproc_p99_ms": figures["inproc_p99_ms"] <= TARGETS["inproc_p99_ms"],
        "bus_p99_ms": figures["bus_p99_ms"] <= TARGETS["bus_p99_ms"],
    }
    if not args.json:
        for key, value in figures.items():
            print(f"{key:>30}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
