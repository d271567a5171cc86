"""Hypervector algebra: binary spatter codes, bit-packed, with a bipolar (MAP) view.

Binary spatter codes (BSC; Kanerva 1994, "The spatter code for encoding concepts at many
levels"; Kanerva 2009, "Hyperdimensional computing", Cogn. Comput. 1:139-159): a hypervector is
``D`` random bits. Binding is XOR (self-inverse, so unbinding is binding again), bundling is the
bitwise majority, permutation is a cyclic rotation, and similarity is ``1 - hamming / D``
(0.5 for unrelated vectors, 1 for equal ones; the spread of random pairs is ``0.5 / sqrt(D)``).

Vectors are stored packed, 8 bits per byte, most significant bit first (NumPy ``packbits``
order), so a 10,000-bit vector takes 1,250 bytes. Shapes are ``(B,)`` for one vector and
``(N, B)`` for a batch, ``B = D / 8``; ``D`` must be a multiple of 8.

The MAP model (multiply-add-permute; Gayler 1998) is the bipolar view ``bit 0 -> +1, 1 -> -1``:
there XOR becomes elementwise multiplication and majority becomes the sign of the sum, which is
what the math of weighted bundles needs. :func:`to_torchhd` hands vectors to torchhd.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from emily.instinct._errors import HypervectorError

Packed = npt.NDArray[np.uint8]
Bipolar = npt.NDArray[np.float32]

DEFAULT_DIM = 10_000


def n_bytes(dim: int) -> int:
    """Bytes of one packed vector; ``dim`` must be a positive multiple of 8."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0 or dim % 8:
        raise HypervectorError(f"dimension must be a positive multiple of 8, got {dim!r}")
    return dim // 8


def check_packed(hv: Any, dim: int, *, batch: bool | None = None) -> Packed:
    """Validate a packed vector (``(B,)``) or batch (``(N, B)``) of dimension ``dim``.

    Args:
        hv: The candidate array.
        dim: Expected dimension in bits.
        batch: ``True`` to require 2-D, ``False`` 1-D, ``None`` either.

    Returns:
        ``hv`` itself (no copy) when valid.

    Raises:
        HypervectorError: not an ndarray, dtype other than uint8, or wrong width/rank.
    """
    width = n_bytes(dim)
    if not isinstance(hv, np.ndarray):
        raise HypervectorError(f"expected a packed numpy uint8 array, got {type(hv).__name__}")
    if hv.dtype != np.uint8:
        raise HypervectorError(
            f"expected dtype uint8 (packed bits), got {hv.dtype}; pack bits with np.packbits"
        )
    ranks = {True: (2,), False: (1,), None: (1, 2)}[batch]
    if hv.ndim not in ranks or hv.shape[-1] != width:
        want = {True: "(N, B)", False: "(B,)", None: "(B,) or (N, B)"}[batch]
        raise HypervectorError(
            f"expected shape {want} with B = {width} bytes ({dim} bits), got {hv.shape}"
        )
    return hv


def seeded_rng(seed: int, label: str) -> np.random.Generator:
    """A generator fixed by ``(seed, label)``: the same codebook in every process and release.

    Python's ``hash()`` is salted per process, so labels are hashed with SHA-256 instead.
    """
    digest = hashlib.sha256(f"{seed}\x00{label}".encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng(np.frombuffer(digest, dtype=np.uint32))


def random_hv(dim: int, rng: np.random.Generator, n: int | None = None) -> Packed:
    """Uniformly random packed vector(s): ``(B,)`` if ``n`` is None else ``(n, B)``."""
    width = n_bytes(dim)
    shape = (width,) if n is None else (n, width)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def bind(a: Packed, b: Packed) -> Packed:
    """XOR binding; ``bind(bind(a, b), b) == a`` exactly (unbinding is binding)."""
    return np.bitwise_xor(a, b)


def bundle(vectors: Packed | Sequence[Packed], dim: int, tiebreak: Packed | None = None) -> Packed:
    """Bitwise majority of ``n`` vectors (shape ``(n, B)``) with deterministic tie-breaking.

    With an even count a bit can tie; it then takes the bit of ``tiebreak`` (default:
    :func:`derived_tie` of the members, the usual "add one random vector" rule made reproducible
    without making every bundle share one vector).
    """
    stack = check_packed(np.asarray(vectors, dtype=np.uint8), dim, batch=True)
    if stack.shape[0] == 0:
        raise HypervectorError("cannot bundle zero vectors")
    if stack.shape[0] == 1:
        first: Packed = stack[0].copy()
        return first
    counts = np.unpackbits(stack, axis=1).sum(axis=0, dtype=np.int64)  # (D,)
    twice = 2 * counts
    n = stack.shape[0]
    bits = twice > n
    ties = twice == n
    if ties.any():
        tie = tiebreak if tiebreak is not None else derived_tie(stack, dim)
        bits = np.where(ties, np.unpackbits(check_packed(tie, dim, batch=False)) == 1, bits)
    return np.packbits(bits)


def bundle_many(stacks: np.ndarray, dim: int) -> np.ndarray:
    """:func:`bundle` of each ``(k, B)`` stack in ``stacks`` (shape ``(n, k, B)``), bit-sliced.

    Why: bundling one stimulus at a time unpacks ``k x D`` bits per call. Here the per-bit
    counts live in ``bit_length(k)`` bit planes updated by a ripple-carry add of 64-bit words, so
    ``n`` bundles cost ``k`` vectorised word-adds plus one comparison: same bits as ``bundle``.
    """
    n, k, width = stacks.shape
    if k == 0:
        raise HypervectorError("cannot bundle zero vectors")
    if width != dim // 8:
        raise HypervectorError(f"expected {dim // 8} bytes per vector, got {width}")
    if k == 1:
        return stacks[:, 0, :].copy()
    words = -(-width // 8)
    padded = np.zeros((n, k, words * 8), dtype=np.uint8)
    padded[:, :, :width] = stacks
    vectors = padded.view(np.uint64)  # (n, k, words)
    planes = [np.zeros((n, words), dtype=np.uint64) for _ in range(k.bit_length())]
    for i in range(k):  # add vector i to the bit-sliced counters
        carry = vectors[:, i, :].copy()
        for plane in planes:
            nxt = plane & carry
            np.bitwise_xor(plane, carry, out=plane)
            carry = nxt
    bits = _count_at_least(planes, k // 2 + 1)
    if k % 2 == 0:  # a bit whose count is exactly k/2 takes the derived tie vector's bit
        ties = _count_at_least(planes, k // 2) & ~bits
        tie = np.zeros((n, words * 8), dtype=np.uint8)
        tie[:, :width] = derived_tie(stacks, dim)
        bits |= ties & tie.view(np.uint64)
    out: np.ndarray = bits.view(np.uint8)[:, :width].copy()
    return out


def _count_at_least(planes: list[np.ndarray], threshold: int) -> np.ndarray:
    """Mask of bits whose bit-sliced count is >= ``threshold`` (compare from the top plane)."""
    greater = np.zeros_like(planes[0])
    equal = np.full_like(planes[0], np.uint64(0xFFFFFFFFFFFFFFFF))
    for j in range(len(planes) - 1, -1, -1):
        if (threshold >> j) & 1:
            equal &= planes[j]
        else:
            greater |= equal & planes[j]
            equal &= ~planes[j]
    result: np.ndarray = greater | equal
    return result


def tie_vector(dim: int) -> Packed:
    """A fixed vector seeded by ``dim`` only: ties of :func:`from_bipolar` without members.

    A read-only copy made once per ``dim`` (drawing it costs more than a bundle of two)."""
    return _tie_vector(dim)


@functools.cache
def _tie_vector(dim: int) -> Packed:
    vector = random_hv(dim, seeded_rng(0, f"bundle-tie/{dim}"))
    vector.flags.writeable = False
    return vector


def derived_tie(stack: np.ndarray, dim: int) -> Packed:
    """The tie-breaking vector of a bundle: ``rho(x_1 XOR ... XOR x_n) XOR t_D``.

    Why: a tie vector shared by every bundle makes unrelated even bundles agree wherever both
    tie (for ``n = 2``, half the bits tie, so two unrelated bundles sit at
    ``1/4 + 3/4 * 1/2 = 0.625`` instead of 0.5). A hash of the members would fix that but
    break locality: two records that differ in one feature would get unrelated ties. The
    rotated parity is a *bitwise* function of the members, so

    * it is independent of the members at the bit it breaks (the parity comes from bit
      ``i - 1``), so a bundle keeps its expected similarity to each member;
    * unrelated bundles get independent ties (their similarity is 0.5 +- ``0.5 / sqrt(D)``);
    * inputs that differ in ``m`` bits change the tie in at most ``m`` bits (locality);
    * it is symmetric in the members (order does not matter), like the majority itself.

    XOR with the fixed ``t_D`` (:func:`tie_vector`) keeps degenerate stacks (``a, a, b, b``,
    whose parity is all zeros) from breaking every tie the same way.

    Args:
        stack: Packed members ``(..., n, B)``; the tie of each stack is returned.
        dim: Dimension in bits.

    Returns:
        Packed ``(..., B)``.
    """
    parity = np.bitwise_xor.reduce(stack, axis=-2)  # (..., B)
    # rho^1 on packed MSB-first bytes: each bit moves one place right, the last bit wraps to 0
    carried = (np.roll(parity, 1, axis=-1) & 1) << 7
    rotated = (parity >> 1) | carried
    out: Packed = rotated ^ tie_vector(dim)
    return out


def permute(hv: Packed, dim: int, shift: int = 1) -> Packed:
    """Cyclic rotation of the ``dim`` bits by ``shift`` (negative shifts undo positive ones).

    A bijection on ``{0,1}^D``, and ``permute(permute(x, D, k), D, -k) == x``. Used to mark
    position (order) in sequences: ``rho^i(x)`` is nearly orthogonal to ``x`` for ``i != 0``.
    """
    arr = check_packed(hv, dim)
    bits = np.unpackbits(arr, axis=-1)
    return np.packbits(np.roll(bits, shift, axis=-1), axis=-1)


def hamming(a: Packed, b: Packed) -> npt.NDArray[np.int64] | int:
    """Number of differing bits (broadcasts over leading axes)."""
    counts = np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=-1, dtype=np.int64)
    return int(counts) if np.ndim(counts) == 0 else counts


def similarity(a: Packed, b: Packed, dim: int) -> npt.NDArray[np.float64] | float:
    """Normalised Hamming similarity ``1 - hamming / D`` in ``[0, 1]``.

    Raises:
        HypervectorError: ``a`` or ``b`` is not ``dim / 8`` bytes wide on its last axis (a
            wrong ``dim`` would silently rescale every similarity).
    """
    width = n_bytes(dim)
    wide_a, wide_b = np.shape(a)[-1:], np.shape(b)[-1:]
    if wide_a != (width,) or wide_b != (width,):
        raise HypervectorError(
            f"similarity at dim {dim} needs {width} bytes per vector; got a of shape "
            f"{np.shape(a)} and b of shape {np.shape(b)}"
        )
    dist = hamming(a, b)
    if isinstance(dist, int):
        return 1.0 - dist / dim
    return 1.0 - dist.astype(np.float64) / dim


def pack(bits: npt.ArrayLike, dim: int) -> Packed:
    """Pack a ``{0,1}`` array of ``dim`` bits (last axis) into bytes."""
    arr = np.asarray(bits)
    if arr.shape[-1:] != (dim,):
        raise HypervectorError(f"expected {dim} bits on the last axis, got shape {arr.shape}")
    if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
        raise HypervectorError("bits must be 0 or 1")
    n_bytes(dim)
    return np.packbits(arr.astype(np.uint8), axis=-1)


def unpack(hv: Packed, dim: int) -> npt.NDArray[np.uint8]:
    """Unpack into a ``{0,1}`` uint8 array of ``dim`` bits on the last axis."""
    return np.unpackbits(check_packed(hv, dim), axis=-1)


def to_bipolar(hv: Packed, dim: int) -> Bipolar:
    """MAP view: bit 0 -> +1.0, bit 1 -> -1.0 (so XOR becomes multiplication)."""
    return (1.0 - 2.0 * unpack(hv, dim)).astype(np.float32)


def from_bipolar(values: npt.ArrayLike, dim: int, tiebreak: Packed | None = None) -> Packed:
    """Back to BSC by sign (negative -> 1); exact zeros take the tie-breaking vector's bit."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape[-1:] != (dim,):
        raise HypervectorError(f"expected {dim} values on the last axis, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise HypervectorError("bipolar values must be finite")
    tie = np.unpackbits(tiebreak if tiebreak is not None else tie_vector(dim)) == 1
    bits = np.where(arr == 0, tie, arr < 0)
    return np.packbits(bits, axis=-1)


def weighted_bundle(vectors: Packed, weights: npt.ArrayLike, dim: int) -> Packed:
    """MAP bundle: ``sign(sum_i w_i * bipolar(x_i))``, ties by :func:`derived_tie`.

    Weights let a bundle lean towards some members (e.g. more confident observations); with
    equal weights this is :func:`bundle` (same bits, ties included).
    """
    stack = check_packed(vectors, dim, batch=True)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (stack.shape[0],) or not np.isfinite(w).all():
        raise HypervectorError(f"expected {stack.shape[0]} finite weights, got {w!r}")
    sums = w @ to_bipolar(stack, dim).astype(np.float64)
    return from_bipolar(sums, dim, tiebreak=derived_tie(stack, dim))


def cosine(a: Bipolar, b: Bipolar) -> float:
    """Cosine similarity of two bipolar vectors (``2 * similarity - 1`` for BSC ones)."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def to_torchhd(hv: Packed, dim: int) -> Any:
    """The same vectors as a torchhd ``BSCTensor`` (one bool per bit; 8x the memory)."""
    import torch
    import torchhd

    bits = torch.from_numpy(unpack(hv, dim).astype(np.bool_))
    return torchhd.ensure_vsa_tensor(bits, vsa="BSC")


def from_torchhd(tensor: Any, dim: int) -> Packed:
    """Pack a torchhd BSC tensor (bool, ``(..., D)``) back into bytes."""
    return pack(np.asarray(tensor.numpy(), dtype=np.uint8), dim)
