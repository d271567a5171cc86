"""Benchmark what the live console costs the reflex path.

A runtime with the demo's reflexes answers unlabelled demo stimuli one at a time
(``runtime.handle``, timed per call) for a fixed time, alternately with no console viewer and with
``--viewers`` viewers streaming ``/console/stream`` at ``--rate`` frames per second from another
process (as browsers would: their parsing does not share this process's interpreter). The
console server runs in this process, in its own thread, as ``emily serve`` and
``emily run --console`` run it. Conditions alternate (off/on, then on/off) over seeds and
repeats, so drift on a busy machine falls on both.

Figures (last printed line, one JSON object with ``--json``):

* ``off_p50_us`` / ``off_p99_us`` and ``on_p50_us`` / ``on_p99_us``: ``handle`` latency pooled
  over every repeat of each condition;
* ``ratio_p50`` / ``ratio_p99``: median over the (off, on) pairs of on/off (1.0: no cost);
* ``pairs``: each pair's figures, with the frames its viewers received (``frames_received``
  must be positive, or nothing was streamed) and the frames the server built;
* ``off_side_cpu_share`` / ``on_side_cpu_share``: CPU seconds per wall second that this
  process spent outside the thread calling ``handle`` (the console's server and frame builds,
  plus whatever else runs beside the loop), pooled over each condition; ``console_cpu_share``
  is their difference: what serving the viewers took from the runtime's process, a figure that
  does not depend on how busy the machine is (the latency ratios do).

The gate is off (every stimulus is encoded and looked up), so a suppressed answer's cheaper path
never falls unevenly on one condition.

Usage: ``python benchmarks/console_overhead.py [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def viewers(url: str, token: str, k: int) -> None:
    """The viewer process: ``k`` streams read until stdin closes; prints the frames received."""
    import httpx

    counts = [0] * k
    started = threading.Barrier(k + 1)
    stop = threading.Event()

    def watch(i: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        first = True
        with httpx.stream("GET", f"{url}/console/stream", headers=headers, timeout=60) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    json.loads(line[6:])  # parse every frame, as the page does
                    counts[i] += 1
                    if first:
                        first = False
                        started.wait()
                if stop.is_set():
                    return

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(k)]
    for thread in threads:
        thread.start()
    started.wait()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes it
    stop.set()
    print(json.dumps({"frames": sum(counts)}), flush=True)


def _runtime(home: Path) -> Any:
    os.environ["EMILY_HOME"] = str(home)
    from emily.core import system_clock
    from emily.core.settings import load_settings
    from emily.runtime.builder import build_runtime, demo_schema
    from emily.runtime.stimuli import demo_dataset

    dataset = demo_dataset()
    settings = load_settings()
    runtime = build_runtime(settings, demo_schema(dataset), clock=system_clock(), gate=False)
    features = [dict(zip(dataset.feature_names, row, strict=True)) for row in dataset.rows]
    runtime.reflexes.learn_many(features, list(dataset.labels), [1.0] * len(features))
    return runtime, settings


def _stimuli(seed: int, n: int) -> list[Any]:
    from emily.runtime.stimuli import demo_dataset, demo_stream

    return [
        s.model_copy(update={"label": None})
        for s in demo_stream(demo_dataset(), seed=seed, limit=n)
    ]


def _measure(runtime: Any, stimuli: list[Any], seconds: float) -> tuple[list[float], float]:
    """Per-call ``handle`` latency (s), cycling over ``stimuli`` for ``seconds``; and the CPU
    seconds the process's other threads took meanwhile."""
    latencies: list[float] = []
    process0, thread0 = time.process_time(), time.thread_time()
    end = time.perf_counter() + seconds
    i = 0
    while not latencies or time.perf_counter() < end:  # one call at least, however starved
        stimulus = stimuli[i % len(stimuli)]
        t0 = time.perf_counter()
        runtime.handle(stimulus)
        latencies.append(time.perf_counter() - t0)
        i += 1
    return latencies, (time.process_time() - process0) - (time.thread_time() - thread0)


def _with_viewers(url: str, token: str, k: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--viewers-of", url, token, str(k)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        raise RuntimeError(f"the viewer process did not start: {line!r}")
    return proc


def _stop(proc: subprocess.Popen[str]) -> int:
    out, _ = proc.communicate(timeout=60)
    return int(json.loads(out.strip().splitlines()[-1])["frames"])


def _us(values: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(values) * 1e6, [50, 99])
    return float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--viewers", type=int, default=4, help="console streams when on")
    parser.add_argument("--rate", type=float, default=4.0, help="console frames per second")
    parser.add_argument("--seconds", type=float, help="per condition (2 quick, 5)")
    parser.add_argument("--seeds", type=int, help="stimulus streams (2 quick, 3)")
    parser.add_argument("--repeats", type=int, help="(off, on) pairs per seed (1 quick, 2)")
    parser.add_argument("--viewers-of", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewers_of:
        url, token, k = args.viewers_of
        viewers(url, token, int(k))
        return
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    seeds = args.seeds or (2 if args.quick else 3)
    repeats = args.repeats or (1 if args.quick else 2)

    from emily.core import system_clock
    from emily.runtime.console import ConsoleOptions, start_console

    pooled: dict[str, list[float]] = {"off": [], "on": []}
    side_cpu: dict[str, float] = {"off": 0.0, "on": 0.0}
    pairs = []
    with tempfile.TemporaryDirectory(prefix="emily-bench-console-") as tmp:
        runtime, settings = _runtime(Path(tmp))
        options = ConsoleOptions(rate_hz=args.rate, max_viewers=max(args.viewers, 1))
        console = start_console(runtime, settings, clock=system_clock(), options=options)
        token = console.url.split("#token=", 1)[1]
        try:
            _measure(runtime, _stimuli(99, 500), 0.5)  # warm-up: page in the encoder and memory
            for seed in range(seeds):
                stimuli = _stimuli(seed, 2_000)
                for repeat in range(repeats):
                    order = ("off", "on") if (seed + repeat) % 2 == 0 else ("on", "off")
                    pair: dict[str, Any] = {"seed": seed, "repeat": repeat, "order": list(order)}
                    for condition in order:
                        proc = None
                        if condition == "on":
                            proc = _with_viewers(console.base_url, token, args.viewers)
                        built = console.hub.builds
                        latencies, side_cpu_s = _measure(runtime, stimuli, seconds)
                        side_cpu[condition] += side_cpu_s
                        if proc is not None:
                            pair["frames_received"] = _stop(proc)
                            pair["frames_built"] = console.hub.builds - built
                        pooled[condition] += latencies
                        p50, p99 = _us(latencies)
                        pair[f"{condition}_calls"] = len(latencies)
                        pair[f"{condition}_side_cpu_s"] = side_cpu_s
                        pair[f"{condition}_p50_us"], pair[f"{condition}_p99_us"] = p50, p99
                    pair["ratio_p50"] = pair["on_p50_us"] / pair["off_p50_us"]
                    pair["ratio_p99"] = pair["on_p99_us"] / pair["off_p99_us"]
                    pairs.append(pair)
        finally:
            console.close()
            runtime.close()
    wall = seconds * seeds * repeats  # per condition
    off_p50, off_p99 = _us(pooled["off"])
    on_p50, on_p99 = _us(pooled["on"])
    figures = {
        "benchmark": "console_overhead",
        "quick": args.quick,
        "viewers": args.viewers,
        "rate_hz": args.rate,
        "seconds_per_condition": seconds,
        "seeds": seeds,
        "repeats": repeats,
        "gate": False,
        "off_p50_us": off_p50,
        "off_p99_us": off_p99,
        "on_p50_us": on_p50,
        "on_p99_us": on_p99,
        "ratio_p50": float(np.median([p["ratio_p50"] for p in pairs])),
        "ratio_p99": float(np.median([p["ratio_p99"] for p in pairs])),
        "frames_received": sum(p["frames_received"] for p in pairs),
        "streamed": all(p["frames_received"] > 0 for p in pairs),
        "off_side_cpu_share": side_cpu["off"] / wall,
        "on_side_cpu_share": side_cpu["on"] / wall,
        "console_cpu_share": (side_cpu["on"] - side_cpu["off"]) / wall,
        "pairs": pairs,
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if not args.json:
        print(f"handle p50 {off_p50:.1f} us without viewers, {on_p50:.1f} us with {args.viewers}")
        print(f"handle p99 {off_p99:.1f} us without viewers, {on_p99:.1f} us with {args.viewers}")
        ratios = f"p50 {figures['ratio_p50']:.3f}, p99 {figures['ratio_p99']:.3f}"
        print(f"on/off ratio (median of pairs): {ratios}")
        share = figures["console_cpu_share"]
        print(f"console's CPU in the runtime's process: {share:.2%} of one core")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
