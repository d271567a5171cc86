"""Stable assignment of keys to buckets and variants, identical in every process.

Why not ``hash()``: Python salts ``str`` hashes per process (``PYTHONHASHSEED``), so the seed's
``hash(user_id) % 100`` sends the same user to different variants after a restart or in a second
worker. A keyed BLAKE2b digest of the UTF-8 key is the same on every machine, process and run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from emily.core import InputError

BUCKETS = 10_000
"""Resolution of percentage splits: 10,000 buckets give steps of 0.01 %."""


def stable_bucket(key: str, *, salt: str, buckets: int = BUCKETS) -> int:
    """Map ``key`` to a bucket in ``[0, buckets)``, the same in every process and after restart.

    Args:
        key: The stable identity being assigned (a user, a session, a stimulus source).
        salt: Separates experiments, so one key's buckets in two experiments are independent.
        buckets: Number of buckets.

    Returns:
        The bucket index. With a 64-bit digest the modulo bias is below 1e-15.
    """
    if buckets < 1:
        raise InputError(f"buckets must be >= 1, got {buckets}")
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


def in_percentage(key: str, *, salt: str, percent: float) -> bool:
    """Whether ``key`` falls in the first ``percent`` % of buckets (a stable percentage rollout)."""
    if not 0.0 <= percent <= 100.0:
        raise InputError(f"percent must be within [0, 100], got {percent}")
    return stable_bucket(key, salt=salt) < round(percent * BUCKETS / 100.0)


def assign_variant(key: str, *, salt: str, weights: Mapping[str, float]) -> str:
    """Pick a variant for ``key`` with probability proportional to its weight, stably.

    Args:
        key: The stable identity being assigned.
        salt: The experiment's name: the same key may land in different arms of two experiments.
        weights: Variant name to non-negative weight, in a fixed order (the order is part of the
            assignment: reordering the arms reshuffles keys).

    Returns:
        The variant's name.
    """
    if not weights or any(not w >= 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise InputError(f"weights must be non-negative with a positive sum, got {dict(weights)}")
    total = sum(weights.values())
    point = stable_bucket(key, salt=salt) / BUCKETS * total
    cumulative = 0.0
    last = ""
    for name, weight in weights.items():
        if weight == 0:
            continue
        cumulative += weight
        last = name
        if point < cumulative:
            return name
    return last  # floating-point round-off at the top edge
