"""BSC algebra on packed vectors: shapes, validation, the bipolar view, torchhd interop."""

from __future__ import annotations

import numpy as np
import pytest

from emily.instinct._errors import HypervectorError
from emily.instinct._hdc import (
    bind,
    bundle,
    check_packed,
    cosine,
    derived_tie,
    from_bipolar,
    from_torchhd,
    hamming,
    n_bytes,
    pack,
    permute,
    random_hv,
    seeded_rng,
    similarity,
    tie_vector,
    to_bipolar,
    to_torchhd,
    unpack,
    weighted_bundle,
)

D = 10_000


def test_a_10000_bit_vector_takes_1250_bytes() -> None:
    hv = random_hv(D, seeded_rng(0, "x"))
    assert hv.shape == (1250,)
    assert hv.dtype == np.uint8
    assert random_hv(D, seeded_rng(0, "x"), n=3).shape == (3, 1250)


def test_codebook_randomness_is_reproducible_and_label_specific() -> None:
    a = random_hv(D, seeded_rng(7, "light"))
    assert np.array_equal(a, random_hv(D, seeded_rng(7, "light")))
    assert not np.array_equal(a, random_hv(D, seeded_rng(8, "light")))
    assert 0.45 < similarity(a, random_hv(D, seeded_rng(7, "sound")), D) < 0.55


@pytest.mark.parametrize("dim", [0, -8, 12, 7.0, True])
def test_dimension_must_be_a_positive_multiple_of_eight(dim: object) -> None:
    with pytest.raises(HypervectorError, match="multiple of 8"):
        n_bytes(dim)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2, 3], "numpy uint8"),
        (np.zeros(1250, dtype=np.int64), "dtype uint8"),
        (np.zeros(1249, dtype=np.uint8), "1250 bytes"),
        (np.zeros((2, 2, 1250), dtype=np.uint8), "shape"),
    ],
)
def test_check_packed_names_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(HypervectorError, match=message):
        check_packed(value, D)


def test_check_packed_enforces_rank_when_asked() -> None:
    with pytest.raises(HypervectorError, match=r"\(N, B\)"):
        check_packed(np.zeros(1250, np.uint8), D, batch=True)
    with pytest.raises(HypervectorError, match=r"\(B,\)"):
        check_packed(np.zeros((1, 1250), np.uint8), D, batch=False)


def test_bundle_is_the_bitwise_majority() -> None:
    rows = pack([[1, 1, 0, 0, 1, 0, 1, 0], [1, 0, 0, 1, 1, 0, 0, 0], [0, 1, 0, 1, 1, 1, 1, 0]], 8)
    assert unpack(bundle(rows, 8), 8).tolist() == [1, 1, 0, 1, 1, 0, 1, 0]
    assert np.array_equal(bundle(rows[:1], 8), rows[0])


def test_ties_take_the_tiebreak_bits_deterministically() -> None:
    rows = pack([[1, 0, 1, 0, 1, 0, 1, 0], [0, 1, 1, 0, 0, 1, 1, 0]], 8)
    ones = pack([1] * 8, 8)
    assert unpack(bundle(rows, 8, tiebreak=ones), 8).tolist() == [1, 1, 1, 0, 1, 1, 1, 0]
    assert np.array_equal(bundle(rows, 8), bundle(rows, 8))
    # default: rho(parity of the members) XOR the fixed vector, at the tied bits only
    tie = unpack(permute(rows[0] ^ rows[1], 8, 1) ^ tie_vector(8), 8)
    got = unpack(bundle(rows, 8), 8)
    tied = unpack(rows[0] ^ rows[1], 8) == 1
    assert got[tied].tolist() == tie[tied].tolist()
    assert np.array_equal(bundle(rows[::-1], 8), bundle(rows, 8))  # order does not matter


def test_derived_tie_rotates_like_permute() -> None:
    stack = random_hv(8 * 37, seeded_rng(3, "tie"), n=4)
    parity = stack[0] ^ stack[1] ^ stack[2] ^ stack[3]
    expected = permute(parity, 8 * 37, 1) ^ tie_vector(8 * 37)
    assert np.array_equal(derived_tie(stack, 8 * 37), expected)


def test_weighted_bundle_with_equal_weights_is_bundle_for_even_counts() -> None:
    rows = random_hv(D, seeded_rng(5, "even"), n=4)
    assert np.array_equal(weighted_bundle(rows, [2.0] * 4, D), bundle(rows, D))


def test_similarity_checks_its_dimension_against_both_vectors() -> None:
    a = random_hv(64, seeded_rng(0, "a"))
    with pytest.raises(HypervectorError, match=r"dim 128 needs 16 bytes.*\(8,\).*\(8,\)"):
        similarity(a, a, 128)
    with pytest.raises(HypervectorError, match=r"b of shape \(16,\)"):
        similarity(a, random_hv(128, seeded_rng(0, "b")), 64)


def test_bundle_of_nothing_is_refused() -> None:
    with pytest.raises(HypervectorError, match="zero vectors"):
        bundle(np.zeros((0, 1), np.uint8), 8)


def test_permute_rotates_bits_cyclically() -> None:
    hv = pack([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 16)
    assert unpack(permute(hv, 16, 1), 16).tolist() == [1, 1] + [0] * 14
    assert unpack(permute(hv, 16, -1), 16).tolist() == [0] * 14 + [1, 1]
    batch = random_hv(64, seeded_rng(0, "p"), n=4)
    assert np.array_equal(permute(permute(batch, 64, 5), 64, -5), batch)


def test_hamming_and_similarity() -> None:
    a = pack([0] * 16, 16)
    b = pack([1] * 4 + [0] * 12, 16)
    assert hamming(a, b) == 4
    assert similarity(a, b, 16) == 0.75
    assert similarity(np.stack([a, b]), b, 16).tolist() == [0.75, 1.0]


def test_pack_refuses_bad_bits() -> None:
    with pytest.raises(HypervectorError, match="0 or 1"):
        pack([2] * 8, 8)
    with pytest.raises(HypervectorError, match="8 bits"):
        pack([1] * 7, 8)


def test_bipolar_view_turns_xor_into_multiplication() -> None:
    rng = seeded_rng(0, "map")
    a, b = random_hv(D, rng), random_hv(D, rng)
    assert np.array_equal(to_bipolar(bind(a, b), D), to_bipolar(a, D) * to_bipolar(b, D))
    assert np.array_equal(from_bipolar(to_bipolar(a, D), D), a)
    assert cosine(to_bipolar(a, D), to_bipolar(b, D)) == pytest.approx(
        2 * similarity(a, b, D) - 1, abs=1e-6
    )


def test_from_bipolar_refuses_nonfinite_and_wrong_width() -> None:
    with pytest.raises(HypervectorError, match="finite"):
        from_bipolar([np.nan] * 8, 8)
    with pytest.raises(HypervectorError, match="8 values"):
        from_bipolar([1.0] * 9, 8)


def test_weighted_bundle_leans_to_the_heavy_member() -> None:
    rng = seeded_rng(0, "w")
    rows = random_hv(D, rng, n=3)
    out = weighted_bundle(rows, [5.0, 1.0, 1.0], D)
    assert np.array_equal(out, rows[0])
    assert np.array_equal(weighted_bundle(rows, [1.0, 1.0, 1.0], D), bundle(rows, D))
    with pytest.raises(HypervectorError, match="finite weights"):
        weighted_bundle(rows, [1.0, np.inf, 1.0], D)


def test_torchhd_sees_the_same_vectors_and_distances() -> None:
    import torchhd

    rng = seeded_rng(0, "torchhd")
    a, b = random_hv(D, rng), random_hv(D, rng)
    ta, tb = to_torchhd(a, D), to_torchhd(b, D)
    assert np.array_equal(from_torchhd(ta, D), a)
    assert np.array_equal(from_torchhd(torchhd.bind(ta, tb), D), bind(a, b))
    assert int(torchhd.hamming_similarity(ta, tb)) == D - hamming(a, b)
