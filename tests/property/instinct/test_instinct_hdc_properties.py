"""Algebraic laws of the packed BSC model and its encoders (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emily.core import ManualClock
from emily.instinct import HammingScan, ReflexMemory
from emily.instinct._codebook import LevelCodebook
from emily.instinct._hdc import (
    bind,
    bundle,
    bundle_many,
    hamming,
    pack,
    permute,
    random_hv,
    seeded_rng,
    similarity,
    to_torchhd,
    unpack,
)

DIMS = st.sampled_from([8, 64, 256, 1024, 10_000])
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def vectors(draw: st.DrawFn, n: int = 1) -> tuple[int, np.ndarray]:
    dim = draw(DIMS)
    return dim, random_hv(dim, seeded_rng(draw(SEEDS), "property"), n=n)


@given(vectors(n=2))
def test_unbinding_recovers_the_bound_vector_exactly(case: tuple[int, np.ndarray]) -> None:
    _, (a, b) = case
    assert np.array_equal(bind(bind(a, b), b), a)
    assert np.array_equal(bind(a, b), bind(b, a))


@settings(deadline=None, max_examples=40)
@given(st.integers(min_value=3, max_value=15), SEEDS)
def test_bundle_members_are_nearer_than_random_vectors(k: int, seed: int) -> None:
    dim = 10_000
    rng = seeded_rng(seed, "bundle")
    members = random_hv(dim, rng, n=k)
    others = random_hv(dim, rng, n=k)
    bundled = bundle(members, dim)
    member_sims = similarity(members, bundled, dim)
    other_sims = similarity(others, bundled, dim)
    assert member_sims.min() > other_sims.max()


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=3, unique=True),
    st.integers(2, 200),
    SEEDS,
)
def test_level_encoding_is_monotone(values: list[float], levels: int, seed: int) -> None:
    a, b, c = sorted(values)
    codebook = LevelCodebook(1024, -1e3, 1e3, levels, seed=seed % 1000, label="m")
    # b lies between a and c, so it is at least as close to a as c is
    assert similarity(codebook(a), codebook(b), 1024) >= similarity(codebook(a), codebook(c), 1024)
    assert similarity(codebook(c), codebook(b), 1024) >= similarity(codebook(c), codebook(a), 1024)


@given(vectors(n=3), st.integers(-20_000, 20_000))
def test_permutation_is_a_bijection_undone_by_its_inverse(
    case: tuple[int, np.ndarray], shift: int
) -> None:
    dim, batch = case
    moved = permute(batch, dim, shift)
    assert np.array_equal(permute(moved, dim, -shift), batch)
    # distances are preserved, so distinct inputs stay distinct (injective, hence bijective)
    assert hamming(moved[0], moved[1]) == hamming(batch[0], batch[1])
    assert unpack(moved, dim).sum() == unpack(batch, dim).sum()


@settings(deadline=None, max_examples=30)
@given(vectors(n=2))
def test_packed_and_unpacked_similarity_agree(case: tuple[int, np.ndarray]) -> None:
    import torchhd

    dim, (a, b) = case
    bits_a, bits_b = unpack(a, dim), unpack(b, dim)
    assert hamming(a, b) == int((bits_a != bits_b).sum())
    assert np.array_equal(pack(bits_a, dim), a)
    expected = 1.0 - float((bits_a != bits_b).mean())
    assert similarity(a, b, dim) == expected
    torch_sim = int(torchhd.hamming_similarity(to_torchhd(a, dim), to_torchhd(b, dim)))
    assert torch_sim == dim - hamming(a, b)


@settings(deadline=None, max_examples=25)
@given(vectors(n=40), st.integers(0, 39), st.floats(0.0, 0.3))
def test_exact_scan_equals_brute_force(
    case: tuple[int, np.ndarray], target: int, noise: float
) -> None:
    dim, matrix = case
    rng = np.random.default_rng(target)
    query = matrix[target] ^ np.packbits(rng.random(dim) < noise)
    scan = HammingScan(dim, capacity=8)
    scan.add(matrix)
    dist = np.bitwise_count(matrix ^ query).sum(axis=1)
    assert scan.nearest(query) == (int(np.argmin(dist)), int(dist.min()))


@settings(deadline=None, max_examples=20)
@given(SEEDS, st.integers(1, 30), st.floats(0.0, 0.2))
def test_a_reloaded_memory_answers_identically(seed: int, n: int, noise: float) -> None:
    dim = 1024
    rng = seeded_rng(seed, "reload")
    memory = ReflexMemory(dim, clock=ManualClock())
    stimuli = random_hv(dim, rng, n=n)
    memory.learn_many(list(stimuli), [f"r{i}" for i in range(n)], [0.5] * n)
    flips = np.packbits(np.random.default_rng(seed).random((n, dim)) < noise, axis=1)
    queries = np.concatenate([stimuli ^ flips, random_hv(dim, rng, n=3)])
    reloaded = ReflexMemory(dim, store=memory.store, clock=ManualClock())
    assert reloaded.lookup_batch(queries) == memory.lookup_batch(queries)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 9), n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_bundle_many_equals_bundle_row_by_row(k: int, n: int, seed: int) -> None:
    """The bit-sliced batch majority gives exactly ``bundle``'s bits, ties included."""
    dim = 8 * 37  # not a multiple of 64 bits: exercises the padding
    rng = np.random.default_rng(seed)
    stacks = rng.integers(0, 256, size=(n, k, dim // 8), dtype=np.uint8)
    batched = bundle_many(stacks, dim)
    assert batched.shape == (n, dim // 8)
    for row, stack in zip(batched, stacks, strict=True):
        assert np.array_equal(row, bundle(stack, dim))


@settings(max_examples=40, deadline=None)
@given(k=st.sampled_from([2, 4]), seed=SEEDS)
def test_unrelated_even_bundles_are_unrelated(k: int, seed: int) -> None:
    """Ties broken by the members' rotated parity, not one shared vector: two bundles of ``k``
    independent vectors sit at 0.5 within 5 sigma (a shared tie vector gave 0.625 at ``k = 2``)."""
    dim = 10_000
    rng = seeded_rng(seed, "even")
    first, second = bundle(random_hv(dim, rng, n=k), dim), bundle(random_hv(dim, rng, n=k), dim)
    sigma = 0.5 / np.sqrt(dim)
    assert abs(similarity(first, second, dim) - 0.5) < 5 * sigma


@settings(max_examples=40, deadline=None)
@given(seed=SEEDS)
def test_a_pair_bundle_keeps_three_quarters_of_each_member(seed: int) -> None:
    """The tie at bit ``i`` comes from bit ``i - 1``, independent of the member at ``i``: a bundle
    of two agrees with each member on the agreeing half plus half of the tied half."""
    dim = 10_000
    members = random_hv(dim, seeded_rng(seed, "pair"), n=2)
    sims = similarity(members, bundle(members, dim), dim)
    sigma = np.sqrt(0.75 * 0.25 / dim)
    assert np.all(np.abs(sims - 0.75) < 5 * sigma)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(2, 8), flips=st.integers(0, 40), seed=SEEDS)
def test_bundle_is_local(k: int, flips: int, seed: int) -> None:
    """Changing ``m`` bits of one member changes at most ``2 m`` bits of the bundle (the majority
    at those bits and the tie one place on), so near records stay near."""
    dim = 1024
    rng = np.random.default_rng(seed)
    members = rng.integers(0, 256, size=(k, dim // 8), dtype=np.uint8)
    bits = np.zeros(dim, dtype=np.uint8)
    bits[rng.choice(dim, size=flips, replace=False)] = 1
    changed = members.copy()
    changed[0] ^= np.packbits(bits)
    assert hamming(bundle(members, dim), bundle(changed, dim)) <= 2 * flips
