"""calibrate_threshold: each consequence listed in the module docstring of _calibration."""

from __future__ import annotations

import numpy as np
import pytest

from emily.core import InputError
from emily.instinct import (
    NumericFeature,
    PrototypeTrainer,
    ReflexHit,
    ReflexMemory,
    StimulusEncoder,
    StimulusSchema,
    ThresholdCalibration,
    calibrate_prototype_threshold,
    calibrate_threshold,
)
from emily.instinct._calibration import conformal_threshold
from emily.instinct._errors import HypervectorError
from emily.instinct._hdc import random_hv, seeded_rng

D = 2048


def clusters(
    seed: int, n: int, noise: float, centres: int = 4, dim: int = D
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``n`` noisy copies of ``centres`` random vectors: (vectors, labels, the centres)."""
    rng = np.random.default_rng(seed)
    middle = random_hv(dim, seeded_rng(seed, "centres"), n=centres)
    which = rng.integers(0, centres, size=n)
    flips = np.packbits(rng.random((n, dim)) < noise, axis=1)
    return middle[which] ^ flips, [f"c{w}" for w in which], middle


def records(seed: int, n: int, shift: float = 0.0) -> list[dict[str, object]]:
    """Gaussian records of 6 numeric features around two centres (``shift`` moves both)."""
    rng = np.random.default_rng(seed)
    centre = np.where(rng.random(n) < 0.5, 3.0, 7.0)[:, None] + shift
    values = centre + rng.normal(0, 0.8, size=(n, 6))
    return [{f"x{j}": float(v) for j, v in enumerate(row)} for row in values]


ENCODER = StimulusEncoder(
    StimulusSchema(features={f"x{j}": NumericFeature(low=0.0, high=20.0) for j in range(6)}),
    dim=D,
)


def test_held_out_known_records_hit_about_one_minus_alpha() -> None:
    train = ENCODER.encode_many(records(0, 400))
    cal = calibrate_threshold(train, ["r"] * 400, D, target_miss_rate=0.05)
    memory = ReflexMemory(D, threshold=cal.threshold, half_life_s=None)
    memory.learn_many(train, ["known"] * 400, [1.0] * 400, [f"t{i}" for i in range(400)])
    fresh = memory.lookup_batch(ENCODER.encode_many(records(1, 2000)))
    hit = np.mean([isinstance(a, ReflexHit) for a in fresh])
    assert 0.90 <= hit <= 0.99  # conformal: 1 - k/(n+1) = 0.95, not vacuous either
    novel = memory.lookup_batch(ENCODER.encode_many(records(2, 500, shift=8.0)))
    assert not any(isinstance(a, ReflexHit) for a in novel)
    assert cal.miss_rate_bound == pytest.approx(20 / 401)
    assert cal.method == "conformal-loo-nearest"
    assert cal.n == 400
    assert not cal.clamped


def test_the_threshold_follows_the_datas_own_similarity() -> None:
    tight = calibrate_threshold(*clusters(3, 200, noise=0.02)[:2], D)
    loose = calibrate_threshold(*clusters(3, 200, noise=0.15)[:2], D)
    # two copies of a centre differ in 2p(1-p) of the bits: 0.96 vs 0.745 similar
    assert tight.threshold > 0.93
    assert 0.70 < loose.threshold < 0.80
    assert tight.known_quantiles["q50"] > loose.known_quantiles["q50"]


def test_other_label_scores_estimate_how_an_unseen_class_would_miss() -> None:
    vectors, labels, _ = clusters(4, 300, noise=0.05)
    cal = calibrate_threshold(vectors, labels, D)
    assert cal.labels == 4
    assert cal.other_label_quantiles is not None
    assert cal.other_label_quantiles["q95"] < 0.6
    assert cal.other_label_miss_rate == 1.0  # random centres: every other class is novel
    single = calibrate_threshold(vectors, ["one"] * 300, D)
    assert single.other_label_quantiles is None
    assert single.other_label_miss_rate is None
    assert single.threshold == cal.threshold  # labels only feed the diagnostics


def test_a_threshold_at_chance_is_clamped_and_flagged() -> None:
    x = random_hv(D, seeded_rng(5, "x"))
    cal = calibrate_threshold(np.stack([x, ~x]), ["a", "b"], D)
    assert cal.raw_threshold == 0.0
    assert cal.clamped
    assert cal.threshold == 0.5 + 1 / D
    assert cal.miss_rate_bound == pytest.approx(1 / 3)  # n too small for 5 %: said, not hidden
    ReflexMemory(D, threshold=cal.threshold)  # accepted as it is


def test_conformal_threshold_is_the_kth_smallest_score() -> None:
    scores = np.linspace(0.6, 0.99, 99)  # n = 99: k = floor(0.05 * 100) = 5
    threshold, raw, bound = conformal_threshold(scores[::-1], D, 0.05)
    assert raw == threshold == scores[4]
    assert bound == pytest.approx(0.05)
    assert conformal_threshold([0.2], D, 0.05) == (0.5 + 1 / D, 0.2, 0.5)
    with pytest.raises(InputError, match="finite"):
        conformal_threshold([0.7, np.nan], D, 0.05)


def test_the_calibration_is_a_frozen_model_that_round_trips() -> None:
    cal = calibrate_threshold(*clusters(6, 50, 0.1)[:2], D)
    assert ThresholdCalibration.model_validate_json(cal.model_dump_json()) == cal
    assert set(cal.known_quantiles) == {"q01", "q05", "q25", "q50", "q75", "q95"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"vectors": np.zeros((1, D // 8), np.uint8), "labels": ["a"]}, InputError, "at least 2"),
        ({"labels": ["a"]}, InputError, "one label per stimulus"),
        ({"target_miss_rate": 1.0}, InputError, r"\(0, 1\)"),
        ({"target_miss_rate": 0}, InputError, r"\(0, 1\)"),
        ({"dim": 4096}, HypervectorError, "512 bytes"),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, object], error: type, message: str) -> None:
    args: dict[str, object] = {
        "vectors": np.zeros((3, D // 8), np.uint8),
        "labels": ["a", "b", "c"],
        "dim": D,
        "target_miss_rate": 0.05,
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        calibrate_threshold(
            args["vectors"],  # type: ignore[arg-type]
            args["labels"],  # type: ignore[arg-type]
            args["dim"],  # type: ignore[arg-type]
            target_miss_rate=args["target_miss_rate"],  # type: ignore[arg-type]
        )


def test_prototype_thresholds_are_cross_fitted_not_in_sample() -> None:
    """Many prototypes on few stimuli flatter themselves in-sample (fresh known stimuli then
    hit far less than 1 - alpha); held-out fold scores restore the conformal rate."""
    given = records(7, 200)
    train = ENCODER.encode_many(given)
    labels = ["low" if r["x0"] < 5 else "high" for r in given]  # type: ignore[operator]
    trainer = PrototypeTrainer(D, per_class=16, epochs=5, seed=1)
    cal = calibrate_prototype_threshold(train, labels, trainer, folds=5)
    assert trainer.prototypes() == []  # the template is not fitted
    fitted = PrototypeTrainer(D, per_class=16, epochs=5, seed=1).fit(train, labels)
    protos = np.stack([v for *_, v in fitted.prototypes()])

    def nearest(x: np.ndarray) -> np.ndarray:
        return 1 - np.bitwise_count(x[:, None] ^ protos[None]).sum(2).min(1) / D

    in_sample = conformal_threshold(nearest(train), D, 0.05)[0]
    fresh = nearest(ENCODER.encode_many(records(8, 2000)))
    assert np.mean(fresh >= in_sample) < 0.88
    assert 0.90 <= np.mean(fresh >= cal.threshold) <= 0.99
    assert cal.method == "cross-conformal-prototype"
    assert cal.n == 200
    with pytest.raises(InputError, match="folds"):
        calibrate_prototype_threshold(train, labels, trainer, folds=1)
