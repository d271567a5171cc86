r"""Hit threshold of the reflex memory, calibrated from the stimuli it learned.

A fixed threshold cannot suit every encoder and data set: a record bundles one level vector per
feature, and two records whose features all differ still agree on most bits. On breast_cancer
(30 features, 64 levels), records with every feature drawn uniformly from its range are 0.76-0.81
similar to their nearest training record, so a fixed 0.75 answered 99.8 % of them; the training
records themselves sit at 0.84 or more (median 0.91) from their nearest neighbour. What "near"
means is a property of the data, so it is measured on the data.

The model (conformal novelty detection; Vovk, Gammerman & Shafer 2005, ch. 4; Laxhammar &
Falkman 2015, with the nearest-neighbour nonconformity score):

Score.  The score of a stimulus ``x`` against stored stimuli ``S`` is its nearest similarity
``s(x, S) = max_{z in S} sim(x, z)``. Each training stimulus gets its leave-one-out score
``s_i = s(x_i, S \ {x_i})``.

Threshold.  If a new known stimulus is exchangeable with the training ones, its score is (up to
the one stimulus it is missing) exchangeable with the ``s_i``, so with ``s_(1) <= ... <= s_(n)``
and ``k = max(1, floor(alpha (n + 1)))``::

    tau = s_(k)        P(s(x_new, S) < tau) <= k / (n + 1)

a known stimulus misses with probability at most ``k / (n + 1)``: ``alpha`` (the
``target_miss_rate``) once ``n >= 1 / alpha - 1``; below that no threshold above the least score
can promise ``alpha``, and the bound is reported as it is. ``alpha`` is the only parameter: the
rule has nothing to tune to a data set.

Novel stimuli.  Conformal prediction promises nothing about them. What the data can say is how a
class that was *not* learned looks: each stimulus's nearest similarity to stimuli of *other*
labels, ``o_i``, is the score it would get had its own class been left out, so the fraction of
``o_i < tau`` estimates the miss rate of an unseen class about as distinct as the known ones are
from each other. It is reported, not optimised: moving ``tau`` on it would trade the known-hit
guarantee for a guess about classes nobody has seen. (Measured, averaged over five splits: that
estimate came within 0.1 of the novel miss rate on iris, wine and digits. How well novel stimuli
separate at all is the encoder's and the data's business: novelty AUROC 0.97 iris, 0.96 wine,
0.985 digits, 0.85 breast_cancer with one of its two classes learned, where Euclidean 1-NN on
scaled features gets 0.84: learning the malignant class only, benign records look known.)

Prototypes.  A prototype is fitted *to* its stimuli, so their similarity to it is optimistic.
The cross-conformal variant (Vovk 2015) scores each stimulus against prototypes fitted on the
other folds (measured, 4 per class: 90-95 % of held-out known stimuli hit with the in-sample
quantile, 95-98 % cross-fitted, at alpha = 5 %).

Consequences, each tested: about ``1 - alpha`` of held-out known stimuli hit; the threshold
follows the data's own similarity level (tight data, high threshold); it does not depend on the
order of the stimuli; a threshold at or below chance is clamped to the least value
``ReflexMemory`` accepts and flagged; the exact and the scan-based scores agree.

References:
    Vovk, Gammerman & Shafer (2005). Algorithmic Learning in a Random World. Springer, ch. 4.
    Vovk (2015). Cross-conformal predictors. Annals of Mathematics and Artificial Intelligence
    74, 9-28.
    Laxhammar & Falkman (2015). Inductive conformal anomaly detection for sequential detection
    of anomalous sub-trajectories. Annals of Mathematics and Artificial Intelligence 74, 67-94.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from emily.core import InputError, SovereignModel
from emily.instinct._hdc import check_packed, seeded_rng
from emily.instinct._kernel import distance_blocks, hamming_matrix
from emily.instinct._prototype import PrototypeTrainer

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles reported for each score distribution."""

METHOD = "conformal-loo-nearest"


class ThresholdCalibration(SovereignModel):
    """A calibrated hit threshold and the evidence it came from.

    Attributes:
        threshold: Least similarity of a hit, in (0.5, 1]: pass it to ``ReflexMemory``.
        method: The rule that chose it (``conformal-loo-nearest``, see the module docstring).
        target_miss_rate: The ``alpha`` asked for.
        miss_rate_bound: ``k / (n + 1)``: the known-stimulus miss rate the rule guarantees
            (above ``target_miss_rate`` only when ``n < 1 / alpha - 1``).
        raw_threshold: ``s_(k)`` before clamping.
        clamped: Whether ``raw_threshold`` was at or below 0.5 and was raised.
        n: Stimuli calibrated on.
        dim: Dimension in bits.
        labels: Distinct labels among them.
        known_quantiles: Quantiles (keys ``"q05"`` ...) of the leave-one-out nearest
            similarities ``s_i``.
        other_label_quantiles: Quantiles of the nearest other-label similarities ``o_i``
            (``None`` with a single label).
        other_label_miss_rate: Fraction of ``o_i < threshold``: the estimated miss rate of an
            unseen class (``None`` with a single label).
    """

    threshold: float
    method: str
    target_miss_rate: float
    miss_rate_bound: float
    raw_threshold: float
    clamped: bool
    n: int
    dim: int
    labels: int
    known_quantiles: dict[str, float]
    other_label_quantiles: dict[str, float] | None
    other_label_miss_rate: float | None


def _quantiles(values: npt.NDArray[np.float64]) -> dict[str, float]:
    return {f"q{round(q * 100):02d}": float(np.quantile(values, q)) for q in QUANTILES}


def nearest_scores(
    vectors: npt.NDArray[np.uint8], codes: npt.NDArray[np.int64], dim: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Leave-one-out nearest similarity ``s_i`` and nearest other-label similarity ``o_i``.

    One all-pairs popcount pass (:func:`distance_blocks`), both minima taken from each block, so
    the cost is one ``n x n`` scan (5 s at n = 10,000, D = 10,000 on two cores).

    Args:
        vectors: Packed ``(n, D / 8)``.
        codes: Label index of each row, ``(n,)``.
        dim: Dimension in bits.

    Returns:
        ``(s, o)``, each ``(n,)``; ``o_i`` is ``-inf`` when no row has another label.
    """
    order = np.argsort(codes, kind="stable")  # each label's rows become one column slice
    ordered, sorted_codes = vectors[order], codes[order]
    labels, bounds = np.unique(sorted_codes, return_index=True)
    edges = [*bounds.tolist(), sorted_codes.shape[0]]
    far = dim + 1  # beyond any distance: an excluded pair never wins
    per_label = np.empty((sorted_codes.shape[0], labels.shape[0]), dtype=np.int64)
    for start, block in distance_blocks(ordered, dim):
        rows = np.arange(start, start + block.shape[0])
        block[rows - start, rows] = far  # leave one out
        for j in range(labels.shape[0]):
            per_label[rows, j] = block[:, edges[j] : edges[j + 1]].min(axis=1)
    own = np.searchsorted(labels, sorted_codes)
    nearest = per_label.min(axis=1)
    per_label[np.arange(own.shape[0]), own] = far
    foreign = per_label.min(axis=1)
    s = np.empty(order.shape[0])
    o = np.empty(order.shape[0])
    s[order] = 1.0 - nearest / dim
    o[order] = np.where(foreign > dim, -np.inf, 1.0 - foreign / dim)
    return s, o


def conformal_threshold(
    scores: npt.ArrayLike, dim: int, target_miss_rate: float
) -> tuple[float, float, float]:
    """``(threshold, raw, bound)``: ``raw = s_(k)``, ``k = max(1, floor(alpha (n + 1)))``, the
    miss-rate bound ``k / (n + 1)``, and ``raw`` clamped into ``ReflexMemory``'s (0.5, 1].

    Any nearest-similarity score of stimuli exchangeable with future known ones will do
    (leave-one-out scores here; scores against prototypes fitted *without* those stimuli).
    """
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    if ordered.ndim != 1 or ordered.shape[0] == 0 or not np.isfinite(ordered).all():
        raise InputError(f"expected a non-empty 1-D array of finite scores, got {ordered.shape}")
    n = ordered.shape[0]
    k = max(1, math.floor(target_miss_rate * (n + 1)))
    raw = float(ordered[k - 1])
    floor = 0.5 + 1.0 / dim  # the least similarity above chance a Hamming distance can give
    return min(max(raw, floor), 1.0), raw, k / (n + 1)


def _check(batch_n: int, labels: Sequence[str], target_miss_rate: float) -> None:
    if batch_n < 2:
        raise InputError(f"calibration needs at least 2 stimuli (leave-one-out), got {batch_n}")
    if len(labels) != batch_n:
        raise InputError(f"expected one label per stimulus ({batch_n}), got {len(labels)}")
    if not (isinstance(target_miss_rate, float) and 0.0 < target_miss_rate < 1.0):
        raise InputError(f"target_miss_rate must be a float in (0, 1), got {target_miss_rate!r}")


def _report(
    scores: npt.NDArray[np.float64],
    other: npt.NDArray[np.float64] | None,
    dim: int,
    target_miss_rate: float,
    method: str,
    labels: int,
) -> ThresholdCalibration:
    threshold, raw, bound = conformal_threshold(scores, dim, target_miss_rate)
    return ThresholdCalibration(
        threshold=threshold,
        method=method,
        target_miss_rate=target_miss_rate,
        miss_rate_bound=bound,
        raw_threshold=raw,
        clamped=raw < threshold,
        n=int(scores.shape[0]),
        dim=dim,
        labels=labels,
        known_quantiles=_quantiles(scores),
        other_label_quantiles=None if other is None else _quantiles(other),
        other_label_miss_rate=None if other is None else float(np.mean(other < threshold)),
    )


def calibrate_threshold(
    vectors: npt.NDArray[np.uint8],
    labels: Sequence[str],
    dim: int,
    *,
    target_miss_rate: float = 0.05,
) -> ThresholdCalibration:
    """The hit threshold of an exemplar memory (every stimulus a reflex): leave-one-out scores.

    Args:
        vectors: Packed training stimuli ``(n, D / 8)``, ``n >= 2``: every stimulus the
            memory holds (or a random sample of them).
        labels: Response of each stimulus (used only for the other-label diagnostics).
        dim: Dimension in bits.
        target_miss_rate: ``alpha`` in (0, 1).

    Returns:
        The threshold, the rule's guarantee and the score distributions behind it.

    Raises:
        HypervectorError: ``vectors`` is not a packed batch of dimension ``dim``.
        InputError: fewer than two stimuli, labels of another length, or ``alpha`` outside (0, 1).
    """
    batch = check_packed(vectors, dim, batch=True)
    _check(batch.shape[0], labels, target_miss_rate)
    names, codes = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    scores, other = nearest_scores(batch, codes.astype(np.int64), dim)
    several = names.shape[0] > 1
    return _report(
        scores, other if several else None, dim, target_miss_rate, METHOD, names.shape[0]
    )


def calibrate_prototype_threshold(
    vectors: npt.NDArray[np.uint8],
    labels: Sequence[str],
    trainer: PrototypeTrainer,
    *,
    folds: int = 5,
    target_miss_rate: float = 0.05,
) -> ThresholdCalibration:
    """The hit threshold of a prototype memory: cross-conformal scores (Vovk 2015).

    Prototypes are fitted *to* the stimuli, so their similarity to them is optimistic (with
    the in-sample quantile, 90-95 % of held-out known stimuli hit at alpha = 5 %). Here each
    stimulus is scored against prototypes fitted without it: the stimuli are dealt into
    ``folds`` folds (per label, in a seeded order), a trainer with ``trainer``'s settings is fitted
    on the other folds, and the conformal rule is applied to the pooled held-out scores.

    Args:
        vectors: Packed training stimuli ``(n, D / 8)``.
        labels: Label of each stimulus.
        trainer: Supplies the settings (``dim``, ``per_class``, ``epochs``, ``lr``, ``seed``);
            it is not changed.
        folds: Folds, >= 2 (cost: ``folds`` fits on ``(folds - 1) / folds`` of the data).
        target_miss_rate: ``alpha`` in (0, 1).
    """
    dim = trainer.dim
    batch = np.ascontiguousarray(check_packed(vectors, dim, batch=True))
    _check(batch.shape[0], labels, target_miss_rate)
    if not 2 <= folds <= batch.shape[0]:
        raise InputError(f"folds must be in [2, {batch.shape[0]}], got {folds}")
    names = np.asarray([str(label) for label in labels])
    fold = np.empty(names.shape[0], dtype=np.int64)
    rng = seeded_rng(trainer.seed, "calibration-folds")
    for label in np.unique(names):  # stratified: each label spread over the folds
        rows = rng.permutation(np.flatnonzero(names == label))
        fold[rows] = np.arange(rows.shape[0]) % folds
    scores = np.full(names.shape[0], -np.inf)
    other = np.full(names.shape[0], -np.inf)
    for f in range(folds):
        held, kept = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        if held.shape[0] == 0:
            continue
        model = PrototypeTrainer(dim, per_class=trainer.per_class, epochs=trainer.epochs,
                                 lr=trainer.lr, seed=trainer.seed)  # fmt: skip
        model.fit(batch[kept], list(names[kept]))
        protos = model.prototypes()
        sims = 1.0 - hamming_matrix(batch[held], np.stack([v for *_, v in protos])) / dim
        scores[held] = sims.max(axis=1)
        proto_labels = np.asarray([label for _, label, _ in protos])
        foreign = proto_labels[None, :] != names[held][:, None]  # (held, P)
        other[held] = np.where(foreign, sims, -np.inf).max(axis=1)
    several = np.unique(names).shape[0] > 1
    return _report(
        scores,
        other if several else None,
        dim,
        target_miss_rate,
        "cross-conformal-prototype",
        np.unique(names).shape[0],
    )
