"""PrototypeTrainer: each consequence listed in the module docstring of _prototype."""

from __future__ import annotations

from pathlib import Path

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
)
from emily.instinct._errors import HypervectorError
from emily.instinct._hdc import random_hv, seeded_rng

D = 1024


def noisy(modes: np.ndarray, which: np.ndarray, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return modes[which] ^ np.packbits(rng.random((which.shape[0], D)) < noise, axis=1)


def two_modes_per_class(draw: int, n: int, seed: int = 5) -> tuple[np.ndarray, list[str]]:
    """Class A has modes u and v; class B's modes w1, w2 each take half of the bits where u
    and v differ from u and half from v. Every bit's majority is then the same for A and B (or
    a tie), so one prototype per class cannot tell them apart; one per mode can."""
    rng = np.random.default_rng(seed)
    u = np.unpackbits(random_hv(D, seeded_rng(seed, "u")))
    v = np.unpackbits(random_hv(D, seeded_rng(seed, "v")))
    differ = np.flatnonzero(u != v)
    half = rng.permutation(differ)[: differ.shape[0] // 2]
    w1 = u.copy()
    w1[half] = v[half]
    w2 = v.copy()
    w2[half] = u[half]
    modes = np.packbits(np.stack([u, v, w1, w2]), axis=1)
    which = np.random.default_rng(draw).integers(0, 4, size=n)
    return noisy(modes, which, 0.1, draw + 1), ["A" if w < 2 else "B" for w in which]


def overlapping(draw: int, n: int, seed: int = 0, classes: int = 3) -> tuple[np.ndarray, list[str]]:
    """Noisy copies of class centres that share most of their bits."""
    rng = np.random.default_rng(seed)
    base = random_hv(D, seeded_rng(seed, "base"))
    centres = base ^ np.packbits(rng.random((classes, D)) < 0.08, axis=1)
    which = np.random.default_rng(draw).integers(0, classes, size=n)
    return noisy(centres, which, 0.2, draw + 2), [f"c{w}" for w in which]


ANISOTROPIC = StimulusEncoder(
    StimulusSchema(features={f"x{j}": NumericFeature(low=-4.0, high=4.0) for j in range(8)}),
    dim=D,
)


def anisotropic(draw: int, n: int) -> tuple[np.ndarray, list[str]]:
    """Three classes told apart by two features; six wide uninformative ones blur the bundles."""
    rng = np.random.default_rng(draw)
    y = rng.integers(0, 3, n)
    x = rng.normal(0.0, 1.0, (n, 8)) * np.asarray([1, 1] + [1.5] * 6)
    x[:, :2] += (y[:, None] - 1) * 0.8
    rows = [{f"x{j}": float(v) for j, v in enumerate(r)} for r in np.clip(x, -4, 4)]
    return ANISOTROPIC.encode_many(rows), [f"c{c}" for c in y]


def digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8x8 digits (shipped with the package), pixels level-encoded, as vectors."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    features = {f"p{j}": NumericFeature(low=0.0, high=16.0, levels=17) for j in range(64)}
    encoder = StimulusEncoder(StimulusSchema(features=features), dim=D)
    rows = [{f"p{j}": float(v) for j, v in enumerate(r)} for r in x]
    return encoder.encode_many(rows), y.astype(str)


def test_a_memory_holding_the_prototypes_answers_as_the_trainer_predicts() -> None:
    vectors, labels = overlapping(0, 300)
    trainer = PrototypeTrainer(D, per_class=3, epochs=10, seed=4).fit(vectors, labels)
    rows = trainer.prototypes()
    ids = [rid for rid, *_ in rows]
    assert ids == sorted(ids)
    assert {rid.rsplit("-", 1)[0] for rid in ids} == {
        "proto-c0",
        "proto-c1",
        "proto-c2",
    }
    memory = ReflexMemory(D, threshold=0.5 + 1 / D, half_life_s=None)
    memory.learn_many(
        np.stack([v for *_, v in rows]), [lab for _, lab, _ in rows], [1.0] * len(rows),
        [rid for rid, *_ in rows],
    )  # fmt: skip
    queries, _ = overlapping(1, 500)  # same centres, fresh noise
    answers = memory.lookup_batch(queries)
    assert all(isinstance(a, ReflexHit) for a in answers)
    assert [a.response for a in answers] == trainer.predict(queries)  # type: ignore[union-attr]


def test_retraining_never_leaves_more_training_mistakes_than_the_bundles() -> None:
    vectors, labels = anisotropic(0, 400)
    truth = np.asarray(labels)
    errors = []
    for epochs in (0, 1, 5, 30):
        trainer = PrototypeTrainer(D, per_class=1, epochs=epochs, seed=0).fit(vectors, labels)
        errors.append(np.mean(np.asarray(trainer.predict(vectors)) != truth))
    assert errors[0] > 0.2  # the bundles do make mistakes here
    assert all(e <= errors[0] for e in errors[1:])  # the pocket keeps the best epoch
    assert errors[-1] < errors[0] / 2


def test_on_digits_retraining_and_more_prototypes_help_held_out_accuracy() -> None:
    vectors, labels = digits()
    train, test, truth = vectors[::2], vectors[1::2], labels[1::2]

    def accuracy(per_class: int, epochs: int) -> float:
        trainer = PrototypeTrainer(D, per_class=per_class, epochs=epochs, seed=0)
        trainer.fit(train, list(labels[::2]))
        return float(np.mean(np.asarray(trainer.predict(test)) == truth))

    bundled, retrained, four = accuracy(1, 0), accuracy(1, 20), accuracy(4, 0)
    assert retrained > bundled + 0.01  # measured 0.869 -> 0.898 at D = 1,024
    assert four > retrained + 0.02  # digits are multimodal: measured 0.939


def test_two_prototypes_per_class_separate_two_modes_that_one_cannot() -> None:
    vectors, labels = two_modes_per_class(0, 400)
    test, truth_list = two_modes_per_class(1, 600)
    truth = np.asarray(truth_list)
    one = PrototypeTrainer(D, per_class=1, epochs=0, seed=0).fit(vectors, labels)
    two = PrototypeTrainer(D, per_class=2, epochs=0, seed=0).fit(vectors, labels)
    assert np.mean(np.asarray(one.predict(test)) == truth) < 0.75
    assert np.mean(np.asarray(two.predict(test)) == truth) > 0.97


def test_the_same_seed_gives_the_same_prototypes() -> None:
    vectors, labels = overlapping(7, 300)
    first = PrototypeTrainer(D, per_class=4, epochs=5, seed=11).fit(vectors, labels)
    second = PrototypeTrainer(D, per_class=4, epochs=5, seed=11).fit(vectors, labels)
    for (ra, la, va), (rb, lb, vb) in zip(first.prototypes(), second.prototypes(), strict=True):
        assert (ra, la) == (rb, lb)
        assert np.array_equal(va, vb)


def test_memory_per_class_is_bounded_whatever_the_number_of_stimuli() -> None:
    small = PrototypeTrainer(D, per_class=2, epochs=2).fit(*two_modes_per_class(8, 60))
    large = PrototypeTrainer(D, per_class=2, epochs=2).fit(*two_modes_per_class(8, 3000))
    assert small.bytes_per_class == large.bytes_per_class == 2 * D * 4 + 2 * D // 8


def test_a_class_without_modes_collapses_to_fewer_prototypes() -> None:
    """Noisy copies of one centre: every cluster's majority is that centre, so the extra
    clusters lose their members and are dropped (no duplicate prototypes)."""
    trainer = PrototypeTrainer(D, per_class=4, epochs=0).fit(*overlapping(8, 3000))
    assert len(trainer.prototypes()) < 12
    assert trainer.bytes_per_class <= 4 * (D * 4 + D // 8)


def test_state_round_trips_through_npz_and_training_goes_on(tmp_path: Path) -> None:
    vectors, labels = overlapping(9, 300)
    trainer = PrototypeTrainer(D, per_class=2, epochs=3, seed=2).fit(vectors, labels)
    path = tmp_path / "prototypes.npz"
    np.savez(path, **trainer.state())
    with np.load(path, allow_pickle=False) as saved:
        restored = PrototypeTrainer.from_state({k: saved[k] for k in saved.files})
    assert [(r, lab, v.tobytes()) for r, lab, v in restored.prototypes()] == [
        (r, lab, v.tobytes()) for r, lab, v in trainer.prototypes()
    ]
    assert (restored.per_class, restored.epochs, restored.lr, restored.seed) == (2, 3, 0.05, 2)
    novel = random_hv(D, seeded_rng(9, "new class"))
    extra = novel ^ np.packbits(np.random.default_rng(1).random((40, D)) < 0.1, axis=1)
    restored.partial_fit(extra, ["new"] * 40)
    assert {lab for _, lab, _ in restored.prototypes()} == {"c0", "c1", "c2", "new"}
    assert set(restored.predict(extra)) == {"new"}
    assert restored.predict(vectors[:50]) == trainer.predict(vectors[:50])  # old ones kept


def test_exact_zero_accumulators_take_independent_seeded_bits() -> None:
    """x and its complement cancel to 0 in every component: the sign is then a seeded bit per
    prototype (not one shared vector, which would make two such prototypes equal)."""
    x = random_hv(D, seeded_rng(1, "x"))
    y = random_hv(D, seeded_rng(1, "y"))
    vectors = np.stack([x, ~x, y, ~y])
    trainer = PrototypeTrainer(D, per_class=1, epochs=0, seed=3).fit(vectors, ["a", "a", "b", "b"])
    (_, _, a), (_, _, b) = trainer.prototypes()
    ones = np.unpackbits(np.stack([a, b]), axis=1).mean(axis=1)
    assert np.all(np.abs(ones - 0.5) < 0.1)
    assert 0.4 < 1 - np.bitwise_count(a ^ b).sum() / D < 0.6
    again = PrototypeTrainer(D, per_class=1, epochs=0, seed=3).fit(vectors, ["a", "a", "b", "b"])
    assert np.array_equal(again.prototypes()[0][2], a)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"per_class": 0}, "per_class"), ({"epochs": -1}, "epochs"), ({"lr": 0.0}, "lr")],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        PrototypeTrainer(D, **kwargs)  # type: ignore[arg-type]


def test_bad_input_is_refused() -> None:
    trainer = PrototypeTrainer(D)
    with pytest.raises(InputError, match="call fit first"):
        trainer.predict(np.zeros((1, D // 8), np.uint8))
    with pytest.raises(InputError, match="one label per stimulus"):
        trainer.fit(np.zeros((2, D // 8), np.uint8), ["a"])
    with pytest.raises(HypervectorError, match="128 bytes"):
        trainer.fit(np.zeros((2, 8), np.uint8), ["a", "b"])
    fitted = PrototypeTrainer(D, per_class=1).fit(np.zeros((2, D // 8), np.uint8), ["a", "b"])
    bad = fitted.state()
    bad["labels"] = bad["labels"][:1]
    with pytest.raises(InputError, match="inconsistent prototype state"):
        PrototypeTrainer.from_state(bad)
