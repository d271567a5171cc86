"""Benchmark: classifying scikit-learn's bundled data sets and spotting novel classes, vs peers.

Reproduce:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/classify.py --json          # 5 seeds, ~4 min
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/classify.py --quick --json  # 2 seeds, ~1.5 min
(the first run also builds the peer venv, benchmarks/peers/setup_peers.sh: a few minutes).

Data: iris, wine, breast_cancer and digits as scikit-learn ships them. For each seed, one
stratified train/test split (70/30) is shared by every contender, and its novelty variant keeps
the same test rows but trains on about half of the classes (``ceil(C / 2)``, drawn by the seed;
breast_cancer: one of two): every test row is scored, and the AUROC of the novelty score tells
the classes never seen (positives) from the known ones.

Contenders, each at its own recommended recipe, all on one thread:
* ours, through the public API, as ``emily learn`` uses it: a ``StimulusSchema`` of one
  ``NumericFeature`` per column (the training range widened by 10 % of its span on each side),
  ``StimulusEncoder`` records, and a ``ReflexMemory`` holding every training exemplar
  ("exemplar") or the class prototypes of ``PrototypeTrainer`` with its defaults (8 per class,
  20 epochs; "prototype"). The answer is the label of the nearest reflex (of a miss: its
  ``nearest_id``); the novelty score is ``1 - similarity`` to it. The hit threshold is
  calibrated on the training vectors (target miss rate 5 %): ``calibrate_threshold`` for
  exemplars, ``calibrate_prototype_threshold`` (cross-conformal, 5 folds) for prototypes;
  "hit/miss" are the rates at which known-class test rows hit and novel-class ones miss in the
  novelty split.
* torchhd's ``Vanilla`` and ``OnlineHD`` classifiers with their own encoders, run in the peer
  venv by ``peers/torchhd_classify.py`` (the recipe of torchhd's examples/classifiers.py, at our
  dimension); novelty score: minus the largest cosine similarity to a class prototype.
* scikit-learn's 1-NN and logistic regression, each behind a ``StandardScaler``; novelty
  score: distance to the nearest training row / one minus the largest class probability
  (logistic regression cannot fit one class: breast_cancer's novelty split has no figure).

Figures per data set and contender, as mean/min/max over seeds: accuracy; training seconds
(encoding included; ours' threshold calibration apart); single-query latency p50/p99 in
microseconds (ours: ``encode`` of the raw record plus ``lookup``, and ``lookup`` alone; peers:
their standardising, encoding and forward pass on one raw row) over ``--queries`` queries
cycling over the test rows after 10 warm-up ones, in blocks of 25 per contender taking turns
(torchhd's in its own process; the two processes never run at once); bytes held per exemplar,
prototype or class, measured on the live objects (ours: tracemalloc, NumPy buffers included,
the growth per reflex after the first; sklearn: tracemalloc over the fitted pipeline; torchhd:
its prototype tensor), with the encoder's own bytes apart; novelty AUROC.

The goal of issue 14 is judged per data set on the means: accuracy at least the best torchhd
classifier's, query p50 below every peer's, novelty AUROC >= 0.9. The headline ``ratio`` is the
query p50 of the most accurate torchhd classifier over ours (above 1: we answer faster),
geometric mean over data sets; ``accuracy_diff`` is ours minus its accuracy. Progress and a
table go to stderr; with ``--json`` the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import emily
from emily import instinct
from emily.instinct import (
    DEFAULT_DIM,
    InMemoryReflexStore,
    NumericFeature,
    ReflexHit,
    ReflexMemory,
    StimulusEncoder,
    StimulusSchema,
)

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from common import PEER_PYTHON, PEER_VENV, ROOT

DATASETS: dict[str, Callable[..., Any]] = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}
SKLEARN: dict[str, Callable[[], Pipeline]] = {
    "sklearn 1-NN": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=1)),
    "sklearn logistic regression": lambda: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000)
    ),
}
TORCHHD = {"Vanilla": "torchhd Vanilla", "OnlineHD": "torchhd OnlineHD"}
OURS = ("ours exemplar", "ours prototype")
WARMUP = 10
BLOCK = 25  # queries timed in one process before the other takes over
AUROC_GOAL = 0.9
NEAREST = 0.5 + 1e-9
"""A hit threshold just above chance: every lookup answers with its nearest reflex."""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 seeds, 200 timed queries per split")
    p.add_argument("--json", action="store_true", help="print every figure as one JSON line, last")
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=int, help="split seeds 0..N-1 (2 quick, 5)")
    p.add_argument("--test-size", type=float, default=0.3, help="test share of each split")
    p.add_argument("--queries", type=int, help="single queries timed per split (200 quick, 500)")
    p.add_argument(
        "--dim", type=int, default=DEFAULT_DIM, help="hypervector bits, ours and torchhd"
    )
    p.add_argument("--target-miss-rate", type=float, default=0.05, help="of the calibration")
    p.add_argument("--no-torchhd", action="store_true", help="skip the torchhd peers (their venv)")
    a = p.parse_args()
    a.seeds = a.seeds or (2 if a.quick else 5)
    a.queries = a.queries or (200 if a.quick else 500)
    return a


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- data and splits
@dataclass(frozen=True)
class Split:
    """One seed's stratified split; the novelty variant trains on the ``known`` classes only."""

    seed: int
    x_train: np.ndarray  # (n, f) float64
    y_train: np.ndarray  # (n,) int64, classes 0..C-1
    x_test: np.ndarray  # (m, f)
    y_test: np.ndarray  # (m,)
    known: np.ndarray  # classes of the novelty variant's training rows

    @property
    def known_rows(self) -> np.ndarray:
        return np.isin(self.y_train, self.known)

    @property
    def novel(self) -> np.ndarray:
        """Test rows whose class the novelty variant never saw (the AUROC's positives)."""
        return ~np.isin(self.y_test, self.known)


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = DATASETS[name](return_X_y=True)
    return x.astype(np.float64), y.astype(np.int64)


def make_split(x: np.ndarray, y: np.ndarray, seed: int, test_size: float) -> Split:
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    classes = np.unique(y)
    known = np.random.default_rng(seed).choice(classes, math.ceil(len(classes) / 2), replace=False)
    return Split(seed, x_tr, y_tr, x_te, y_te, np.sort(known))


def auroc(novel: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(novel, score))


def held_bytes(build: Callable[[], object]) -> int:
    """Bytes still allocated, once garbage is collected, by building what ``build`` returns
    (tracemalloc sees Python objects and NumPy's buffers)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del kept
    return held


def percentiles(secs: np.ndarray, prefix: str) -> dict[str, float]:
    return {
        f"{prefix}_p50_us": float(np.percentile(secs, 50) * 1e6),
        f"{prefix}_p99_us": float(np.percentile(secs, 99) * 1e6),
    }


Query = Callable[[int], float | None]
"""Answers test row ``i`` as one live query would; ours returns the seconds of its lookup alone."""

PeerTimer = Callable[[list[int]], dict[str, list[float]]]
"""Times single queries of the given test rows in the peer's process: seconds per contender."""


def time_queries(
    queries: dict[str, Query], peer: PeerTimer | None, rows: int, n: int
) -> dict[str, dict[str, float]]:
    """Single-query latency of each contender over ``n`` queries cycling over the test rows
    (after ``WARMUP``), in blocks of ``BLOCK`` queries per contender taking turns (the peer's
    too, in its process), so that load from other processes on a shared machine falls on all
    of them alike, and each answers its block as a stream of queries would come."""
    order = [k % rows for k in range(WARMUP + n)]
    total: dict[str, list[float]] = {m: [] for m in queries}
    inner: dict[str, list[float | None]] = {m: [] for m in queries}
    for start in range(0, len(order), BLOCK):
        block = order[start : start + BLOCK]
        for m, query in queries.items():
            for i in block:
                t0 = time.perf_counter()
                inner[m].append(query(i))
                total[m].append(time.perf_counter() - t0)
        for m, secs in (peer(block) if peer else {}).items():
            total.setdefault(m, []).extend(secs)
    out = {m: percentiles(np.array(secs[WARMUP:]), "query") for m, secs in total.items()}
    for m, parts in inner.items():
        if all(p is not None for p in parts):
            out[m] |= percentiles(np.array(parts[WARMUP:], dtype=float), "lookup")
    return out


# ----------------------------------------------------------------------------- ours
def records(x: np.ndarray) -> list[dict[str, object]]:
    return [{f"f{j:02d}": float(v) for j, v in enumerate(row)} for row in x]


def schema_for(x: np.ndarray) -> StimulusSchema:
    """One numeric feature per column: the training range widened by 10 % of its span on each
    side (a constant column, e.g. a blank pixel of digits, by 10 % of 1e-9: the CLI's rule)."""
    margin = 0.1 * np.maximum(np.ptp(x, axis=0), 1e-9)
    low, high = x.min(axis=0) - margin, x.max(axis=0) + margin
    features = {f"f{j:02d}": NumericFeature(low=float(lo), high=float(hi))
                for j, (lo, hi) in enumerate(zip(low, high, strict=True))}  # fmt: skip
    return StimulusSchema(features=features)


@dataclass
class Reflexes:
    """What a ReflexMemory is built from: ids, responses (class labels) and packed vectors."""

    ids: list[str]
    responses: list[str]
    vectors: np.ndarray  # (R, dim / 8) uint8
    threshold: float = NEAREST

    def memory(self, encoder: StimulusEncoder, dim: int) -> ReflexMemory:
        memory = ReflexMemory(
            dim,
            store=InMemoryReflexStore(),
            encoder=encoder,
            threshold=self.threshold,
            half_life_s=None,
        )
        memory.learn_many(self.vectors, self.responses, [1.0] * len(self.ids), self.ids)
        return memory


@dataclass
class Ours:
    """A trained model of ours: its encoder, its reflexes and the memory holding them."""

    encoder: StimulusEncoder
    reflexes: Reflexes
    memory: ReflexMemory
    train_s: float  # encoding and learning (and fitting the prototypes)
    calibrate_s: float  # choosing the hit threshold


def train_ours(
    model: str, x: np.ndarray, y: np.ndarray, seed: int, args: argparse.Namespace
) -> Ours:
    """Encode the training rows, learn them (every exemplar, or the class prototypes with the
    trainer's defaults, as ``emily learn`` does), then calibrate the hit threshold: conformal,
    on leave-one-out nearest similarities (``calibrate_threshold``) or on similarities to
    prototypes fitted on the other folds (``calibrate_prototype_threshold``, 5 folds)."""
    start = time.perf_counter()
    encoder = StimulusEncoder(schema_for(x), dim=args.dim)
    vectors = encoder.encode_many(records(x))
    labels = [str(c) for c in y]
    alpha = args.target_miss_rate
    calibrate: Callable[[], Any]
    if model == "exemplar":
        reflexes = Reflexes([f"x{i}" for i in range(len(y))], labels, vectors)
        calibrate = partial(instinct.calibrate_threshold, vectors, labels, args.dim,
                            target_miss_rate=alpha)  # fmt: skip
    else:
        trainer = instinct.PrototypeTrainer(args.dim, seed=seed).fit(vectors, labels)
        ids, responses, rows = zip(*trainer.prototypes(), strict=True)
        reflexes = Reflexes(list(ids), list(responses), np.stack(rows))
        calibrate = partial(instinct.calibrate_prototype_threshold, vectors, labels, trainer,
                            target_miss_rate=alpha)  # fmt: skip
    memory = reflexes.memory(encoder, args.dim)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    reflexes.threshold = memory.threshold = calibrate().threshold
    return Ours(encoder, reflexes, memory, train_s, time.perf_counter() - start)


def nearest(
    memory: ReflexMemory, vectors: np.ndarray
) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Per row of ``vectors``: id of the nearest reflex (of a hit or a miss), its similarity and
    whether it was a hit."""
    ids: list[str | None] = []
    sims, hits = np.empty(len(vectors)), np.empty(len(vectors), dtype=bool)
    for i, v in enumerate(vectors):
        a = memory.lookup(v)
        hits[i] = isinstance(a, ReflexHit)
        ids.append(a.reflex_id if isinstance(a, ReflexHit) else a.nearest_id)
        sims[i] = a.similarity
    return ids, sims, hits


def evaluate_ours(
    model: str, split: Split, args: argparse.Namespace
) -> tuple[dict[str, Any], Query]:
    ours = train_ours(model, split.x_train, split.y_train, split.seed, args)
    encoder, reflexes, memory = ours.encoder, ours.reflexes, ours.memory
    label_of = dict(zip(reflexes.ids, reflexes.responses, strict=True))
    test = records(split.x_test)
    ids, _, _ = nearest(memory, encoder.encode_many(test))
    predicted = np.array([int(label_of[str(rid)]) for rid in ids])

    def query(i: int) -> float:
        vector = encoder.encode(test[i])
        start = time.perf_counter()
        memory.lookup(vector)
        return time.perf_counter() - start

    schema = encoder.schema
    assert schema is not None

    def warm_encoder() -> StimulusEncoder:
        fresh = StimulusEncoder(schema, dim=args.dim)
        fresh.encode(test[0])  # the feature keys are derived on first use
        return fresh

    # Bytes: a memory of one reflex holds the fixed part (the scan's preallocated rows among
    # it); each further reflex adds its share of the rest.
    first = Reflexes(reflexes.ids[:1], reflexes.responses[:1], reflexes.vectors[:1])
    fixed = held_bytes(lambda: first.memory(encoder, args.dim))
    held = held_bytes(lambda: reflexes.memory(encoder, args.dim))

    # Novelty: trained and calibrated on the known classes only, every test row scored.
    known = train_ours(
        model, split.x_train[split.known_rows], split.y_train[split.known_rows], split.seed, args
    )
    _, sims, hits = nearest(known.memory, known.encoder.encode_many(test))
    novel = split.novel
    figures = {
        "accuracy": float(np.mean(predicted == split.y_test)),
        "train_s": ours.train_s,
        "calibrate_s": ours.calibrate_s,
        "unit": model,
        "units": len(reflexes.ids),
        "bytes_per_unit": (held - fixed) / max(len(reflexes.ids) - 1, 1),
        "fixed_bytes": fixed,
        "vector_bytes_per_unit": memory.bytes_per_reflex,
        "encoder_bytes": held_bytes(warm_encoder),
        "novelty_auroc": auroc(novel, 1.0 - sims),
        "threshold": known.reflexes.threshold,
        "known_hit_rate": float(hits[~novel].mean()),
        "novel_miss_rate": float((~hits[novel]).mean()),
    }
    return figures, query


# ----------------------------------------------------------------------------- scikit-learn peers
def novelty_score(pipe: Pipeline, x: np.ndarray) -> np.ndarray:
    """1-NN: distance to the nearest training row; otherwise 1 - the largest class probability."""
    head = pipe[-1]
    if isinstance(head, KNeighborsClassifier):
        dist, _ = head.kneighbors(pipe[:-1].transform(x), n_neighbors=1)
        return np.asarray(dist[:, 0])
    return np.asarray(1.0 - pipe.predict_proba(x).max(axis=1))


def evaluate_sklearn(
    name: str, split: Split, args: argparse.Namespace
) -> tuple[dict[str, Any], Query]:
    start = time.perf_counter()
    pipe = SKLEARN[name]().fit(split.x_train, split.y_train)
    train_s = time.perf_counter() - start
    predicted = pipe.predict(split.x_test)
    rows = [row[None] for row in split.x_test]

    def query(i: int) -> None:
        pipe.predict(rows[i])

    one_nn = isinstance(pipe[-1], KNeighborsClassifier)
    units = len(split.y_train) if one_nn else len(np.unique(split.y_train))
    held = held_bytes(lambda: SKLEARN[name]().fit(split.x_train, split.y_train))
    x_known, y_known = split.x_train[split.known_rows], split.y_train[split.known_rows]
    novelty = None
    if one_nn or len(split.known) > 1:  # logistic regression cannot fit a single class
        scores = novelty_score(SKLEARN[name]().fit(x_known, y_known), split.x_test)
        novelty = auroc(split.novel, scores)
    figures = {
        "accuracy": float(np.mean(predicted == split.y_test)),
        "train_s": train_s,
        "unit": "exemplar" if one_nn else "class",
        "units": units,
        "bytes_per_unit": held / units,
        "novelty_auroc": novelty,
    }
    return figures, query


# ----------------------------------------------------------------------------- torchhd peers
def write_splits(splits: dict[str, list[Split]], path: Path) -> None:
    """Every split and its novelty variant, as peers/torchhd_classify.py reads them."""
    arrays: dict[str, np.ndarray] = {}
    tasks = []
    for name, seeds in splits.items():
        for s in seeds:
            known = s.known_rows
            remap = np.searchsorted(s.known, s.y_train[known])  # known classes -> 0..k-1
            for task, x, y, k in (
                (f"{name}-s{s.seed}-closed", s.x_train, s.y_train, len(np.unique(s.y_train))),
                (f"{name}-s{s.seed}-novelty", s.x_train[known], remap, len(s.known)),
            ):
                tasks.append(task)
                arrays |= {f"{task}.x_train": x, f"{task}.y_train": y, f"{task}.x_test": s.x_test}
                arrays |= {f"{task}.n_classes": np.array(k), f"{task}.seed": np.array(s.seed)}
    np.savez(path, tasks=np.array(tasks), **arrays)


class TorchhdPeer:
    """peers/torchhd_classify.py in the peer venv, answering one JSON command per line."""

    def __init__(self, splits: Path, dim: int) -> None:
        setup = ROOT / "benchmarks" / "peers" / "setup_peers.sh"
        subprocess.run(["bash", str(setup), str(PEER_VENV)], check=True)  # idempotent
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        env.pop("PYTHONPATH", None)
        script = ROOT / "benchmarks" / "peers" / "torchhd_classify.py"
        self.proc = subprocess.Popen(
            [str(PEER_PYTHON), str(script), "--splits", str(splits), "--dim", str(dim)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the torchhd peer exited (rc {self.proc.wait()}); see stderr")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def time(self, rows: list[int]) -> dict[str, list[float]]:
        return {TORCHHD[cls]: secs for cls, secs in self.ask(op="time", rows=rows).items()}

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def evaluate_torchhd(peer: TorchhdPeer, name: str, split: Split) -> dict[str, dict[str, Any]]:
    """Both torchhd classifiers on one split (the closed one fitted last: it is then timed)."""
    novelty = peer.ask(op="fit", task=f"{name}-s{split.seed}-novelty")
    closed = peer.ask(op="fit", task=f"{name}-s{split.seed}-closed")
    return {
        m: {
            "accuracy": float(np.mean(np.array(closed[cls]["predicted"]) == split.y_test)),
            "train_s": closed[cls]["train_s"],
            "unit": "class",
            "units": len(np.unique(split.y_train)),
            "bytes_per_unit": closed[cls]["bytes_per_class"],
            "encoder_bytes": closed[cls]["encoder_bytes"],
            "novelty_auroc": auroc(split.novel, np.array(novelty[cls]["novelty"])),
        }
        for cls, m in TORCHHD.items()
    }


# ----------------------------------------------------------------------------- summary
def spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure as mean/min/max over seeds (a figure no seed has is None)."""
    out: dict[str, Any] = {"unit": runs[0]["unit"], "seeds": len(runs)}
    for key in runs[0]:
        if key == "unit":
            continue
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = (
            {"mean": float(np.mean(values)), "min": float(min(values)), "max": float(max(values))}
            if values
            else None
        )
    return out


def mean(figures: dict[str, Any], key: str) -> float | None:
    value = figures.get(key)
    return None if value is None else float(value["mean"])


def goals(models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Issue 14's goal on one data set, on the means over seeds, for each model of ours: the
    accuracy of the best torchhd classifier (without torchhd: of the best peer), a query p50
    below every peer's, a novelty AUROC of at least ``AUROC_GOAL``."""
    peers = [m for m in models if m not in OURS]
    hdc = [m for m in peers if m.startswith("torchhd")]
    best = max(hdc or peers, key=lambda m: mean(models[m], "accuracy") or 0.0)
    out: dict[str, Any] = {"best_peer": best}
    for m in OURS:
        acc = mean(models[m], "accuracy") or 0.0
        p50 = mean(models[m], "query_p50_us") or math.inf
        auc = mean(models[m], "novelty_auroc") or 0.0
        speedups = {p: (mean(models[p], "query_p50_us") or 0.0) / p50 for p in peers}
        checks = {
            "accuracy_diff": acc - (mean(models[best], "accuracy") or 0.0),
            "accuracy_met": acc >= (mean(models[best], "accuracy") or 0.0),
            "latency_speedup": speedups,
            "latency_met": all(v > 1.0 for v in speedups.values()),
            "novelty_met": auc >= AUROC_GOAL,
        }
        checks["met"] = checks["accuracy_met"] and checks["latency_met"] and checks["novelty_met"]
        out[m] = checks
    return out


def fmt(figures: dict[str, Any], key: str, spec: str) -> str:
    v = figures.get(key)
    if v is None:
        return "-"
    return f"{v['mean']:{spec}} [{v['min']:{spec}}-{v['max']:{spec}}]"


def table(name: str, info: str, models: dict[str, dict[str, Any]], goal: dict[str, Any]) -> None:
    log(f"\n{name} ({info})")
    log(
        f"{'model':<28}{'accuracy mean [min-max]':<26}{'train s':>9}{'p50 us':>9}{'p99 us':>9}"
        f"{'lookup us':>10}{'bytes/unit':>20}{'bytes/class':>12}  {'novelty AUROC':<22}"
        f"{'hit/miss':>9}"
    )
    for m, f in models.items():
        lookup = f"{f['lookup_p50_us']['mean']:.0f}" if f.get("lookup_p50_us") else "-"
        per = f"{f['bytes_per_unit']['mean']:,.0f}/{f['unit']}"
        hit, miss = f.get("known_hit_rate"), f.get("novel_miss_rate")
        rates = f"{hit['mean']:.2f}/{miss['mean']:.2f}" if hit and miss else "-"
        log(
            f"{m:<28}{fmt(f, 'accuracy', '.3f'):<26}{f['train_s']['mean']:>9.3f}"
            f"{f['query_p50_us']['mean']:>9.0f}{f['query_p99_us']['mean']:>9.0f}{lookup:>10}"
            f"{per:>20}{f['bytes_per_class']['mean']:>12,.0f}  {fmt(f, 'novelty_auroc', '.3f'):<22}"
            f"{rates:>9}"
        )
    for m in OURS:
        c = goal[m]
        log(
            f"  goal, {m}: accuracy {c['accuracy_diff']:+.3f} vs {goal['best_peer']}"
            f" ({'met' if c['accuracy_met'] else 'NOT met'}), p50 below every peer's"
            f" ({'met' if c['latency_met'] else 'NOT met'}), AUROC >= {AUROC_GOAL}"
            f" ({'met' if c['novelty_met'] else 'NOT met'})"
        )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def evaluate_dataset(
    name: str,
    xy: tuple[np.ndarray, np.ndarray],
    seeds: list[Split],
    peer: TorchhdPeer | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Every contender on every seed's split of one data set; figures as mean/min/max."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for split in seeds:
        log(f"[{name} seed {split.seed}] known classes {split.known.tolist()}")
        scored: dict[str, dict[str, Any]] = {}
        queries: dict[str, Query] = {}
        for m in OURS:
            scored[m], queries[m] = evaluate_ours(m.split()[-1], split, args)
        for m in SKLEARN:
            scored[m], queries[m] = evaluate_sklearn(m, split, args)
        if peer is not None:
            scored |= evaluate_torchhd(peer, name, split)
        timer = peer.time if peer is not None else None
        for m, latency in time_queries(queries, timer, len(split.y_test), args.queries).items():
            scored[m] |= latency
        classes = len(np.unique(split.y_train))
        for m, f in scored.items():
            f["bytes_per_class"] = f["bytes_per_unit"] * f["units"] / classes
            runs.setdefault(m, []).append(f)
    models = {m: spread(r) for m, r in runs.items()}
    x, y = xy
    classes = len(np.unique(y))
    goal = goals(models)
    table(name, f"{len(y)} rows, {x.shape[1]} features, {classes} classes; {len(seeds)} seeds",
          models, goal)  # fmt: skip
    return {
        "rows": len(y),
        "features": x.shape[1],
        "classes": classes,
        "known_classes": {s.seed: s.known.tolist() for s in seeds},
        "models": models,
        "goal": goal,
    }


# ----------------------------------------------------------------------------- main
def main() -> None:
    args = parse_args()
    load_before = os.getloadavg()

    data = {name: load(name) for name in args.datasets}
    splits = {
        name: [make_split(x, y, seed, args.test_size) for seed in range(args.seeds)]
        for name, (x, y) in data.items()
    }
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        peer = None
        if not args.no_torchhd:
            write_splits(splits, Path(tmp) / "splits.npz")
            peer = TorchhdPeer(Path(tmp) / "splits.npz", args.dim)
        for name, seeds in splits.items():
            results[name] = evaluate_dataset(name, data[name], seeds, peer, args)
        if peer is not None:
            peer.close()

    # Headline: the torchhd classifier most accurate over all data sets, against ours.
    peers = [m for m in next(iter(results.values()))["models"] if m not in OURS]
    hdc = [m for m in peers if m.startswith("torchhd")] or peers
    head = max(hdc, key=lambda m: sum(r["models"][m]["accuracy"]["mean"] for r in results.values()))

    def headline(model: str) -> tuple[float, float]:
        """``head``'s query p50 over ``model``'s (geometric mean), accuracy difference (mean)."""
        speed, diff = [], []
        for r in results.values():
            p50 = {m: r["models"][m]["query_p50_us"]["mean"] for m in (head, model)}
            acc = {m: r["models"][m]["accuracy"]["mean"] for m in (head, model)}
            speed.append(p50[head] / p50[model])
            diff.append(acc[model] - acc[head])
        return float(np.exp(np.mean(np.log(speed)))), float(np.mean(diff))

    ratio, accuracy_diff = headline("ours exemplar")
    figures: dict[str, Any] = {
        "benchmark": "classify",
        "quick": args.quick,
        "peer": head,
        "ratio": ratio,
        "ratio_meaning": f"{head} query p50 / ours exemplar's, geometric mean over data sets",
        "accuracy_diff": accuracy_diff,
        "goal_met": {n: {m: r["goal"][m]["met"] for m in OURS} for n, r in results.items()},
    }
    figures["ratio_prototype"], figures["accuracy_diff_prototype"] = headline("ours prototype")
    figures["conditions"] = {
        "seeds": list(range(args.seeds)),
        "split": f"stratified train/test, test share {args.test_size}; novelty: ceil(C/2) known",
        "queries": args.queries,
        "warmup_queries": WARMUP,
        "dim": args.dim,
        "target_miss_rate": args.target_miss_rate,
        "threads": 1,
        "load_average_1_5_15_min": {"start": load_before, "end": os.getloadavg()},
        "emily": emily.__version__,
        "numpy": np.__version__,
        "scikit_learn": importlib.metadata.version("scikit-learn"),
        "torchhd_peer": peer and peer.info,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
    }
    figures["datasets"] = results
    print(
        f"ours exemplar vs {head}: {ratio:.2f}x faster (p50, geometric mean),"
        f" accuracy {accuracy_diff:+.3f}; goal met: {figures['goal_met']}"
    )
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
