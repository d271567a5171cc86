"""Peer runner: torchhd's classifiers (``torchhd.classifiers``) on benchmarks/classify.py's splits.

Runs inside the peer venv (benchmarks/peers/setup_peers.sh), never imports emily, and prints one
JSON line. The splits come in one ``.npz`` written by the benchmark: for each task name ``T`` in
its ``tasks`` array, ``T.x_train`` (n, f) float64, ``T.y_train`` (n,) int64 in ``0..k-1``,
``T.x_test`` (m, f) float64, ``T.n_classes`` and ``T.seed`` (of torch's generators). The labels
of the test rows stay with the benchmark, which scores every contender's answers with one code.

Recipe: torchhd's own ``examples/classifiers.py``: inputs standardised with the training split's
``torch.std_mean`` (a constant column gets std 1 instead of a division by zero), a shuffled
``DataLoader`` of batch 12, ``Vanilla()`` with its defaults (random keys bound to 100 level
hypervectors over [-1, 1], one pass) and ``OnlineHD(epochs=10)`` (its ``Sinusoid`` nonlinear
encoder, lr 0.035), at the dimension the benchmark passes (ours: 10,000). Each answer is the
argmax of ``model(samples)`` (cosine similarity to every class prototype); the novelty score is
minus the largest of those similarities.

Per task and classifier: training seconds (standardising and encoding included), predictions
and novelty scores of the test rows, single-query latency (standardise one raw row, encode,
compare, argmax; ``--queries`` queries cycling over the test rows after 10 warm-up ones) and
the bytes held: class prototypes (``model.weight``) and everything else (the encoder's tensors).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import time
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # OnlineHD.fit draws a progress bar per epoch

import numpy as np
import torch
import torchhd
from torch.utils.data import DataLoader, TensorDataset

RECIPES: dict[str, dict[str, Any]] = {"Vanilla": {}, "OnlineHD": {"epochs": 10}}
BATCH = 12


def bytes_of(tensors: Any) -> int:
    return int(sum(t.numel() * t.element_size() for t in tensors))


def run(name: str, data: dict[str, np.ndarray], args: argparse.Namespace) -> dict[str, Any]:
    seed = int(data["seed"])
    torch.manual_seed(seed)
    x_train = torch.from_numpy(data["x_train"]).float()
    y_train = torch.from_numpy(data["y_train"]).long()
    x_test = torch.from_numpy(data["x_test"]).float()
    n_classes = int(data["n_classes"])

    start = time.perf_counter()
    std, mean = torch.std_mean(x_train, dim=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    loader = DataLoader(
        TensorDataset((x_train - mean) / std, y_train),
        batch_size=BATCH,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    cls = getattr(torchhd.classifiers, name)
    model = cls(x_train.shape[1], args.dim, n_classes, **RECIPES[name])
    model.fit(loader)
    train_s = time.perf_counter() - start

    with torch.inference_mode():
        sims = model((x_test - mean) / std)  # (m, k) cosine similarity to each class
        best, predicted = sims.max(dim=1)

        def query(row: torch.Tensor) -> int:
            return int(model(((row - mean) / std)[None]).argmax())

        order = [i % len(x_test) for i in range(args.queries + 10)]
        for i in order[:10]:
            query(x_test[i])
        secs = np.empty(args.queries)
        for k, i in enumerate(order[10:]):
            t0 = time.perf_counter()
            query(x_test[i])
            secs[k] = time.perf_counter() - t0

    prototypes = model.model.weight
    others = [t for n, t in model.state_dict().items() if not n.startswith("model.")]
    return {
        "train_s": train_s,
        "predicted": predicted.tolist(),
        "novelty": (-best).tolist(),
        "query_p50_us": float(np.percentile(secs, 50) * 1e6),
        "query_p99_us": float(np.percentile(secs, 99) * 1e6),
        "bytes_per_class": bytes_of([prototypes]) / n_classes,
        "encoder_bytes": bytes_of(others),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", required=True, help=".npz written by benchmarks/classify.py")
    ap.add_argument("--dim", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    splits = np.load(args.splits)
    results: dict[str, dict[str, Any]] = {}
    for task in splits["tasks"].tolist():
        data = {k.split(".", 1)[1]: splits[k] for k in splits.files if k.startswith(task + ".")}
        results[task] = {name: run(name, data, args) for name in RECIPES}
    print(
        json.dumps(
            {
                "peer": "torchhd",
                "torchhd_version": importlib.metadata.version("torch-hd"),
                "torch_version": torch.__version__,
                "threads": torch.get_num_threads(),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "recipes": RECIPES,
                "batch": BATCH,
                "dim": args.dim,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
