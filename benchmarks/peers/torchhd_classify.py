"""Peer runner: torchhd's classifiers (``torchhd.classifiers``) on benchmarks/classify.py's splits.

Runs inside the peer venv (benchmarks/peers/setup_peers.sh), never imports emily, and serves
one JSON command per stdin line with one JSON line on stdout, so that the benchmark can time
torchhd's single queries in blocks alternating with its own (the two processes never run at
once, and load from elsewhere falls on both alike). The splits come in one ``.npz``: for each
task name ``T`` of its ``tasks`` array, ``T.x_train`` (n, f) float64, ``T.y_train`` (n,) int64
in ``0..k-1``, ``T.x_test`` (m, f) float64, ``T.n_classes`` and ``T.seed`` (of torch's
generators). The labels of the test rows stay with the benchmark, which scores every
contender's answers with one code.

Commands: ``{"op": "fit", "task": T}`` trains every classifier on ``T`` and answers, per
classifier, training seconds (standardising and encoding included), the predictions and
novelty scores of the test rows and the bytes held (class prototypes, ``model.weight``, and
everything else: the encoder's tensors); ``{"op": "time", "rows": [i, ...]}`` times single
queries of the last task fitted (standardise one raw test row, encode, compare, argmax; each
classifier answers all the rows in turn, as the benchmark's own contenders do) and answers the
seconds of each. First line out:
versions and settings; end of input: exit.

Recipe: torchhd's own ``examples/classifiers.py``: inputs standardised with the training split's
``torch.std_mean`` (a constant column gets std 1 instead of a division by zero), a shuffled
``DataLoader`` of batch 12, ``Vanilla()`` with its defaults (random keys bound to 100 level
hypervectors over [-1, 1], one pass) and ``OnlineHD(epochs=10)`` (its ``Sinusoid`` nonlinear
encoder, lr 0.035), at the dimension the benchmark passes (ours: 10,000). Each answer is the
argmax of ``model(samples)`` (cosine similarity to every class prototype); the novelty score is
minus the largest of those similarities. (Trained on a single class, OnlineHD never errs, so
it never updates: its prototype stays zero, torchhd warns of a zero norm, and every novelty
score is 0.)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # OnlineHD.fit draws a progress bar per epoch

import numpy as np
import torch
import torchhd
from torch.utils.data import DataLoader, TensorDataset

RECIPES: dict[str, dict[str, Any]] = {"Vanilla": {}, "OnlineHD": {"epochs": 10}}
BATCH = 12


class Fitted:
    """One classifier trained on one task, with the standardisation it was trained under."""

    def __init__(self, name: str, data: dict[str, np.ndarray], dim: int) -> None:
        seed = int(data["seed"])
        torch.manual_seed(seed)
        x_train = torch.from_numpy(data["x_train"]).float()
        y_train = torch.from_numpy(data["y_train"]).long()
        self.x_test = torch.from_numpy(data["x_test"]).float()
        self.n_classes = int(data["n_classes"])

        start = time.perf_counter()
        std, self.mean = torch.std_mean(x_train, dim=0)
        self.std = torch.where(std > 0, std, torch.ones_like(std))
        loader = DataLoader(
            TensorDataset((x_train - self.mean) / self.std, y_train),
            batch_size=BATCH,
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        )
        cls = getattr(torchhd.classifiers, name)
        self.model = cls(x_train.shape[1], dim, self.n_classes, **RECIPES[name])
        self.model.fit(loader)
        self.train_s = time.perf_counter() - start

    def figures(self) -> dict[str, Any]:
        with torch.inference_mode():
            sims = self.model((self.x_test - self.mean) / self.std)  # (m, k) cosine similarity
        best, predicted = sims.max(dim=1)
        prototypes = self.model.model.weight
        others = [t for n, t in self.model.state_dict().items() if not n.startswith("model.")]
        return {
            "train_s": self.train_s,
            "predicted": predicted.tolist(),
            "novelty": (-best).tolist(),
            "bytes_per_class": prototypes.numel() * prototypes.element_size() / self.n_classes,
            "encoder_bytes": sum(t.numel() * t.element_size() for t in others),
        }

    def query(self, i: int) -> int:
        return int(self.model(((self.x_test[i] - self.mean) / self.std)[None]).argmax())


def reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", required=True, help=".npz written by benchmarks/classify.py")
    ap.add_argument("--dim", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    splits = np.load(args.splits)
    reply(
        {
            "peer": "torchhd",
            "torchhd_version": importlib.metadata.version("torch-hd"),
            "torch_version": torch.__version__,
            "threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "recipes": RECIPES,
            "batch": BATCH,
            "dim": args.dim,
        }
    )
    fitted: dict[str, Fitted] = {}
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "fit":
            task = command["task"]
            data = {k.split(".", 1)[1]: splits[k] for k in splits.files if k.startswith(task + ".")}
            fitted = {name: Fitted(name, data, args.dim) for name in RECIPES}
            reply({name: f.figures() for name, f in fitted.items()})
        elif command["op"] == "time":
            secs: dict[str, list[float]] = {name: [] for name in fitted}
            with torch.inference_mode():
                for name, f in fitted.items():
                    for i in command["rows"]:
                        start = time.perf_counter()
                        f.query(i)
                        secs[name].append(time.perf_counter() - start)
            reply(secs)
        else:
            raise ValueError(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
