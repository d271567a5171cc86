"""Scoring the instinct tier on labelled stimuli: what ``emily eval`` prints, writes and plots.

Each stimulus gets the label of its nearest reflex (the *prediction*, what a 1-NN classifier
would answer) and its similarity to it; it is a *hit* when that similarity reaches the model's
calibrated threshold, else a *miss*: the stimulus looks novel and the live loop would escalate
it to cognition. So two questions are scored apart:

* is the nearest answer right? ``accuracy`` (over every stimulus, misses included, as a 1-NN
  classifier is scored) and ``hit_accuracy`` (over hits: what the reflex path actually says);
* does a miss mean novel? ``hit_rate``/``miss_rate`` overall, and, when some labels were never
  learned, ``known_hit_rate`` (stimuli of learned classes that hit) against ``novel_miss_rate``
  (stimuli of unlearned classes that miss), with the novelty AUROC of ``1 - similarity``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emily.core import SovereignModel


class ClassFigures(SovereignModel):
    """Per-class figures (``support``: stimuli with this label)."""

    support: int
    precision: float | None
    recall: float
    f1: float | None
    hit_rate: float


class EvalReport(SovereignModel):
    """Everything ``emily eval`` measures (see the module docstring for each figure)."""

    n: int
    accuracy: float
    hit_rate: float
    miss_rate: float
    hit_accuracy: float | None
    threshold: float
    known_classes: tuple[str, ...]
    novel: int
    known_hit_rate: float | None
    novel_miss_rate: float | None
    novelty_auroc: float | None
    per_class: dict[str, ClassFigures]
    confusion_labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]


def score(
    labels: Sequence[str],
    predictions: Sequence[str | None],
    similarities: Sequence[float],
    threshold: float,
    known_classes: Sequence[str],
) -> EvalReport:
    """Score nearest-reflex answers against their labels (rows in input order)."""
    from sklearn.metrics import confusion_matrix, roc_auc_score

    n = len(labels)
    if n == 0:
        raise ValueError("nothing to score: no labelled stimuli")
    truth = np.asarray(labels, dtype=object)
    said = np.asarray([p if p is not None else "" for p in predictions], dtype=object)
    sims = np.asarray(similarities, dtype=np.float64)
    hit = sims >= threshold
    right = truth == said
    known = np.isin(truth, np.asarray(list(known_classes), dtype=object))
    novel = ~known
    auroc = None
    if known.any() and novel.any():
        auroc = float(roc_auc_score(novel.astype(int), 1.0 - sims))
    names = tuple(sorted(set(truth.tolist()) | {p for p in said.tolist() if p}))
    per_class: dict[str, ClassFigures] = {}
    for name in sorted(set(truth.tolist())):
        mine = truth == name
        predicted = said == name
        tp = int((mine & predicted).sum())
        precision = tp / int(predicted.sum()) if predicted.any() else None
        recall = tp / int(mine.sum())
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and precision + recall > 0
            else None
        )
        per_class[name] = ClassFigures(
            support=int(mine.sum()),
            precision=precision,
            recall=recall,
            f1=f1,
            hit_rate=float(hit[mine].mean()),
        )
    matrix = confusion_matrix(truth, said, labels=list(names))
    return EvalReport(
        n=n,
        accuracy=float(right.mean()),
        hit_rate=float(hit.mean()),
        miss_rate=float((~hit).mean()),
        hit_accuracy=float(right[hit].mean()) if hit.any() else None,
        threshold=threshold,
        known_classes=tuple(sorted(known_classes)),
        novel=int(novel.sum()),
        known_hit_rate=float(hit[known].mean()) if known.any() else None,
        novel_miss_rate=float((~hit[novel]).mean()) if novel.any() else None,
        novelty_auroc=auroc,
        per_class=per_class,
        confusion_labels=names,
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
    )


def plot(
    report: EvalReport,
    labels: Sequence[str],
    similarities: Sequence[float],
    path: Path,
    title: str,
) -> Path:
    """A PNG: the confusion matrix (row-normalised) and the similarity of each stimulus to its
    nearest reflex, by known-and-right / known-and-wrong / novel, with the hit threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = report.confusion_labels
    matrix = np.asarray(report.confusion, dtype=np.float64)
    rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    image = left.imshow(rows, cmap="Blues", vmin=0.0, vmax=1.0)
    left.set_xticks(range(len(names)), names, rotation=45, ha="right")
    left.set_yticks(range(len(names)), names)
    left.set_xlabel("nearest reflex says")
    left.set_ylabel("label")
    left.set_title(f"confusion (accuracy {report.accuracy:.3f})")
    if len(names) <= 20:
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                colour = "white" if rows[i, j] > 0.5 else "black"
                left.text(j, i, f"{int(count)}", ha="center", va="center", color=colour)
    fig.colorbar(image, ax=left, shrink=0.8, label="share of the label's stimuli")

    sims = np.asarray(similarities, dtype=np.float64)
    truth = np.asarray(labels, dtype=object)
    known = np.isin(truth, np.asarray(list(report.known_classes), dtype=object))
    bins = np.linspace(min(float(sims.min()), report.threshold) - 0.01, 1.0, 40)
    right.hist(sims[known], bins=bins, alpha=0.6, label=f"learned classes ({int(known.sum())})")
    if (~known).any():
        right.hist(sims[~known], bins=bins, alpha=0.6, label=f"novel classes ({report.novel})")
    right.axvline(report.threshold, color="black", linestyle="--",
                  label=f"hit threshold {report.threshold:.3f}")  # fmt: skip
    right.set_xlabel("similarity to the nearest reflex")
    right.set_ylabel("stimuli")
    right.set_title(f"hit rate {report.hit_rate:.3f}, miss (escalate) rate {report.miss_rate:.3f}")
    right.legend()
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
