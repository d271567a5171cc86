"""The two-stage exact scan agrees with a brute-force scan in every regime."""

from __future__ import annotations

import numpy as np
import pytest

from emily.instinct import HammingScan, MultiHashIndex
from emily.instinct._hdc import hamming, random_hv, seeded_rng
from emily.instinct._kernel import distance_blocks

D = 10_000


def brute(matrix: np.ndarray, query: np.ndarray) -> tuple[int, int]:
    dist = np.bitwise_count(matrix ^ query).sum(axis=1)
    slot = int(np.argmin(dist))
    return slot, int(dist[slot])


def noisy(hv: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    flips = np.packbits(rng.random(hv.shape[-1] * 8) < fraction)
    return hv ^ flips


@pytest.mark.parametrize("dim", [64, 1024, D])
def test_nearest_matches_brute_force_for_hits_and_misses(dim: int) -> None:
    rng = seeded_rng(1, "kernel")
    matrix = random_hv(dim, rng, n=500)
    scan = HammingScan(dim, capacity=16)  # forces growth
    scan.add(matrix[:200])
    scan.add(matrix[200:])
    for i in range(20):
        hit = noisy(matrix[i * 7], 0.1, rng)
        miss = random_hv(dim, rng)
        assert scan.nearest(hit) == brute(matrix, hit)
        assert scan.nearest(miss) == brute(matrix, miss)
    queries = np.stack([noisy(matrix[i], 0.1, rng) for i in range(70)] + [random_hv(dim, rng)])
    slots, dists = scan.nearest_batch(queries)
    expected = [brute(matrix, q) for q in queries]
    assert list(zip(slots.tolist(), dists.tolist(), strict=True)) == expected


def test_ties_go_to_the_lowest_slot_and_empty_is_reported() -> None:
    scan = HammingScan(D)
    assert scan.nearest(np.zeros(D // 8, np.uint8)) == (-1, D + 1)
    slots, dists = scan.nearest_batch(np.zeros((2, D // 8), np.uint8))
    assert slots.tolist() == [-1, -1]
    assert dists.tolist() == [D + 1, D + 1]
    hv = random_hv(D, seeded_rng(0, "tie"))
    scan.add(np.stack([random_hv(D, seeded_rng(1, "tie")), hv, hv]))
    assert scan.nearest(hv) == (1, 0)


def test_set_remove_and_start_offset() -> None:
    rng = seeded_rng(2, "kernel")
    matrix = random_hv(D, rng, n=5)
    scan = HammingScan(D)
    scan.add(matrix)
    assert scan.nbytes == 5 * 1250
    assert scan.remove(1) == 4  # last row moved into slot 1
    assert np.array_equal(scan.vector(1), matrix[4])
    assert scan.remove(3) is None
    assert scan.n == 3
    scan.set(0, matrix[3])
    assert scan.nearest(matrix[3]) == (0, 0)
    assert scan.nearest(matrix[3], start=1)[0] in (1, 2)
    assert scan.nearest(matrix[3], start=3) == (-1, D + 1)
    assert np.array_equal(scan.matrix(), np.stack([matrix[3], matrix[4], matrix[2]]))


def test_multihash_finds_noisy_copies() -> None:
    rng = seeded_rng(3, "ann")
    matrix = random_hv(D, rng, n=2000)
    index = MultiHashIndex(matrix)
    found = 0
    for i in range(0, 2000, 40):
        query = noisy(matrix[i], 0.1, rng)
        slot, dist = index.nearest(query)
        found += slot == i
        if slot >= 0:
            assert dist == hamming(query, matrix[slot])
    assert found >= 48  # of 50 (recall is measured properly by the benchmark)
    with pytest.raises(ValueError, match="exceed"):
        MultiHashIndex(random_hv(64, rng, n=2), tables=4, bits=24)


def test_distance_blocks_cover_every_pair_exactly() -> None:
    rows = random_hv(64, seeded_rng(2, "blocks"), n=600)  # three blocks, the last one short
    expected = np.bitwise_count(rows[:, None] ^ rows[None]).sum(axis=2)
    seen = np.zeros((600, 600), dtype=np.int64)
    for start, block in distance_blocks(rows, 64):
        seen[start : start + block.shape[0]] = block
    assert np.array_equal(seen, expected)
