"""Markov equivalence of DAGs: the essential graph (CPDAG) and the members of a class.

Why this exists: BGe and BDeu are score-equivalent and the structure priors here depend only on
edge counts, so every DAG of one Markov equivalence class (MEC) has the same posterior mass.
A correct sampler spreads a class's mass evenly over its members; checking that (see
:func:`emily.cognition.metrics.dag_collapse`) needs the class of a DAG and its members.

Representation. A DAG is a ``d x d`` 0/1 (or bool) matrix, ``adj[i, j]`` true for ``i -> j``.
A CPDAG (or any partially directed graph here) is a ``d x d`` **bool** matrix in which a
directed edge ``i -> j`` has ``[i, j]`` set and ``[j, i]`` clear, and an undirected edge
``i - j`` has both ``[i, j]`` and ``[j, i]`` set.

Two DAGs are Markov equivalent iff they have the same skeleton and the same v-structures
(unshielded colliders ``a -> b <- c`` with ``a``, ``c`` non-adjacent; Verma & Pearl 1990). The
CPDAG keeps the v-structures directed and applies Meek's rules R1-R4 (Meek 1995) until nothing
changes; an edge left undirected is reversible within the class. No dependency of the package
(numpy, scipy, torch) computes this, and networkx / causal-learn are not dependencies, so it is
written here, batched in numpy, and tested against the Verma-Pearl characterisation on all DAGs
with up to five nodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emily.core.errors import InputError

DEFAULT_MEMBER_LIMIT = 1024

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def _as_dags(adj: Any) -> tuple[BoolArray, bool]:
    """``adj`` as a bool ``[N, d, d]`` stack of checked DAGs, and whether it was a single one."""
    a = np.asarray(adj)
    single = a.ndim == 2
    if single:
        a = a[None]
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise InputError(f"adjacency must be [d, d] or [N, d, d], got shape {a.shape}")
    if a.dtype != np.bool_:
        if not np.issubdtype(a.dtype, np.number):
            raise InputError(f"adjacency must be numeric or boolean, got dtype {a.dtype}")
        if not np.isin(a, (0, 1)).all():
            raise InputError("adjacency entries must be 0/1 (or booleans)")
        a = a.astype(bool)
    if np.diagonal(a, axis1=1, axis2=2).any():
        raise InputError("adjacency has self-loops; a DAG has none")
    if not is_acyclic(a).all():
        raise InputError("adjacency has a directed cycle")
    return a, single


def is_acyclic(adj: Any) -> BoolArray:
    """Whether each graph of ``adj`` (``[d, d]`` or ``[N, d, d]``) is acyclic; a self-loop is a
    cycle (its node always has a parent, so it is never deleted).

    Repeatedly deletes nodes without parents (Kahn): whatever survives ``d`` rounds lies on or
    behind a cycle. Returns a bool scalar array for one graph, ``[N]`` for a stack.
    """
    a = np.asarray(adj, dtype=bool)
    single = a.ndim == 2
    g = (a[None] if single else a).copy()
    d = g.shape[-1]
    alive = np.ones(g.shape[:2], dtype=bool)
    for _ in range(d):
        has_parent = (g & alive[:, :, None]).any(axis=1)
        alive &= has_parent
    ok: BoolArray = np.logical_not(alive.any(axis=1))
    return ok[:1].reshape(()) if single else ok


def v_structures(adj: Any) -> frozenset[tuple[int, int, int]]:
    """The v-structures ``(a, b, c)``, ``a < c``, of one DAG: ``a -> b <- c``, a and c apart."""
    a = np.asarray(adj, dtype=bool)
    skel = a | a.T
    out = set()
    for b in range(a.shape[0]):
        parents = np.flatnonzero(a[:, b])
        for i, p in enumerate(parents):
            for q in parents[i + 1 :]:
                if not skel[p, q]:
                    out.add((int(p), b, int(q)))
    return frozenset(out)


def _meek(g: BoolArray) -> BoolArray:
    """Close a stack of partially directed graphs ``[N, d, d]`` under Meek's rules R1-R4.

    Every rule is sound: it orients ``a - b`` into ``a -> b`` only where ``b -> a`` would make a
    directed cycle or an unshielded collider the graph does not already have. All rules fire
    together in each round (a consistent graph never derives both directions of one edge), until
    a round changes nothing.
    """
    g = np.array(g, dtype=np.bool_)
    d = g.shape[-1]
    off = ~np.eye(d, dtype=bool)
    while True:
        und = g & np.swapaxes(g, 1, 2)
        dir_ = g & ~np.swapaxes(g, 1, 2)
        adj = g | np.swapaxes(g, 1, 2)
        apart = ~adj & off  # non-adjacent distinct pairs
        u8, d8, n8 = und.astype(np.int64), dir_.astype(np.int64), apart.astype(np.int64)
        # R1: c -> a - b, c and b apart  =>  a -> b.
        r1 = np.einsum("nca,ncb->nab", d8, n8) > 0
        # R2: a -> c -> b, a - b  =>  a -> b.
        r2 = np.einsum("nac,ncb->nab", d8, d8) > 0
        # R3: a - c -> b, a - e -> b, c and e apart, a - b  =>  a -> b.
        m = np.einsum("nac,ncb->nabc", u8, d8)
        r3 = np.einsum("nabc,nabe,nce->nab", m, m, n8) > 0
        # R4: a - b, e -> c -> b, a adjacent to c and to e, b and e apart  =>  a -> b.
        a8 = adj.astype(np.int64)
        r4 = np.einsum("nac,nae,nec,ncb,nbe->nab", a8, a8, d8, d8, n8) > 0
        orient = und & (r1 | r2 | r3 | r4)
        if not orient.any():
            return g
        g &= ~np.swapaxes(orient, 1, 2)  # a -> b: clear [b, a]


def _pattern(a: BoolArray) -> BoolArray:
    """Skeleton with the v-structures of each DAG directed (everything else undirected)."""
    skel = a | np.swapaxes(a, 1, 2)
    a8 = a.astype(np.int64)
    apart = (~skel & ~np.eye(a.shape[-1], dtype=bool)).astype(np.int64)
    # collider[n, p, b]: p -> b and some other parent q of b is not adjacent to p.
    collider = a & (np.einsum("npb,nqb,npq->npb", a8, a8, apart) > 0)
    out: BoolArray = skel & ~np.swapaxes(collider, 1, 2)
    return out


def cpdag(adj: Any) -> np.ndarray:
    """The CPDAG (essential graph) of a DAG ``[d, d]``, or of each DAG in a stack ``[N, d, d]``.

    A bool matrix of the input's shape: ``[i, j]`` and ``[j, i]`` both set for an undirected
    (reversible) edge, only ``[i, j]`` for a compelled edge ``i -> j``. Raises InputError for a
    graph with a cycle, a self-loop or entries other than 0/1.
    """
    a, single = _as_dags(adj)
    out = _meek(_pattern(a))
    return out[0] if single else out


def mec_key(adj: Any) -> bytes:
    """A hashable id of the Markov equivalence class of one DAG: its CPDAG's packed bits.

    Equal for two DAGs over the same ``d`` nodes iff they are Markov equivalent.
    """
    c = cpdag(adj)
    if c.ndim != 2:
        raise InputError("mec_key takes one DAG [d, d]; use mec_keys for a stack")
    return mec_keys(c[None], checked=True)[0]


def mec_keys(adj: Any, *, checked: bool = False) -> list[bytes]:
    """:func:`mec_key` of each DAG of a stack ``[N, d, d]`` (one batched CPDAG computation).

    ``checked=True`` says ``adj`` already holds CPDAGs (internal use).
    """
    c = np.asarray(adj, dtype=bool) if checked else cpdag(adj)
    if c.ndim == 2:
        c = c[None]
    d = c.shape[-1]
    prefix = d.to_bytes(2, "little")
    packed = np.packbits(c.reshape(c.shape[0], -1), axis=1)
    return [prefix + row.tobytes() for row in packed]


def mec_members(adj: Any, limit: int = DEFAULT_MEMBER_LIMIT) -> list[np.ndarray] | None:
    """Every DAG Markov equivalent to ``adj`` (itself included), or None if more than ``limit``.

    Orients the CPDAG's undirected edges one at a time, each both ways, closing the graph under
    Meek's rules after each choice (so most dead ends are never entered), and keeps a fully
    directed result only if it is acyclic with the input's v-structures. Members are bool
    ``[d, d]`` arrays, distinct, in a deterministic order.
    """
    if limit < 1:
        raise InputError(f"limit must be at least 1, got {limit!r}")
    a, single = _as_dags(adj)
    if not single:
        raise InputError("mec_members takes one DAG [d, d]")
    root = cpdag(a[0])
    target = v_structures(a[0])
    members: list[np.ndarray] = []
    stack = [root]
    while stack:
        g = stack.pop()
        und = np.triu(g & g.T, 1)
        if not und.any():
            if bool(is_acyclic(g)) and v_structures(g) == target:
                members.append(g)
                if len(members) > limit:
                    return None
            continue
        i, j = (int(x) for x in np.argwhere(und)[0])
        for src, dst in ((j, i), (i, j)):  # pushed last, popped first: i -> j
            h = g.copy()
            h[dst, src] = False
            closed = _meek(h[None])[0]
            if (closed | closed.T).sum() == (g | g.T).sum():  # no edge lost both directions
                stack.append(closed)
    return members


def mec_size(adj: Any, limit: int = DEFAULT_MEMBER_LIMIT) -> int | None:
    """How many DAGs the Markov equivalence class of ``adj`` holds; None if over ``limit``."""
    members = mec_members(adj, limit)
    return None if members is None else len(members)
