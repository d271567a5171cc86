"""Reflexes in the browser: the reflex kernel compiled to WebAssembly and a static bundle for it.

Why: a reflex is a table lookup, so nothing about it needs a server. A bundle written by
:func:`write_bundle` (``emily reflexes export --wasm DIR``) is a folder of static files: the
kernel (``reflex_kernel.wasm``, built from ``reflex_kernel.c`` by ``scripts/build_wasm.sh``),
the reflex matrix, the encoder's codebooks and a small page that encodes a typed-in stimulus
and answers it entirely in the browser, the same answer Python gives (same reflex, same
similarity: ``tests/integration/instinct/test_instinct_wasm.py`` checks it through Node, and
``tests/browser/test_browser_wasm.py`` in Chromium).

Files of a bundle:

* ``bundle.json``: dimension, head width, threshold, encoder description (features, levels,
  categories, alphabet) and the reflexes' ids, responses, confidences and stimuli;
* ``reflexes.bin``: the ``(n, D / 8)`` packed matrix, row ``i`` is reflex ``i``;
* ``codebooks.bin``: the rows the page encodes with, in this order: the tie vector ``t_D``,
  every ``key XOR level`` row of the numeric features (as
  :class:`~emily.instinct._codebook.BoundLevels` stacks them), every ``key XOR item(name=value)``
  of the categorical features' categories, and the item vector of each alphabet character;
* ``reflex_kernel.wasm``, ``reflex_core.js`` (loading, encoding, lookup; also what Node runs in
  the tests), ``app.js`` and ``index.html`` (the page).

What the page cannot encode: a character outside the bundle's alphabet (printable ASCII and
every character of the stored stimuli) in a text home; it says so rather than guessing. Numbers
typed for a categorical feature are compared by Python's text of them (``category_text``),
which ``reflex_core.js`` reproduces (``str(int(x))``, else ``repr(x)``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from emily.core import InputError
from emily.instinct._codebook import ItemMemory, LevelCodebook
from emily.instinct._encoders import CategoricalFeature, NumericFeature, StimulusEncoder
from emily.instinct._hdc import check_packed, tie_vector
from emily.instinct._kernel import _head_width

KERNEL = "reflex_kernel.wasm"
FORMAT = "emily-reflex-bundle/1"
PAGE_FILES = ("index.html", "app.js", "reflex_core.js")
BUILD_HINT = "run `bash scripts/build_wasm.sh` (or `make run` / `make test`, which run it)"
ASCII = "".join(chr(c) for c in range(32, 127))


def kernel_path() -> Path:
    """Where the built kernel lives in the installed package (it may not be built yet)."""
    return Path(str(resources.files(__name__).joinpath(KERNEL)))


def page_path(name: str) -> Path:
    """A file of the page shipped with the package (``index.html``, ``app.js``…)."""
    return Path(str(resources.files(__name__).joinpath("page", name)))


def require_kernel() -> Path:
    """The built kernel, or one :class:`InputError` line saying how to build it."""
    path = kernel_path()
    if not path.is_file():
        raise InputError(
            f"the WebAssembly reflex kernel is not built ({path} is missing); {BUILD_HINT}"
        )
    return path


@dataclass(frozen=True, slots=True)
class BundleReflexes:
    """What a bundle answers with: packed rows ``(n, D / 8)`` and each row's reflex."""

    vectors: np.ndarray
    ids: Sequence[str]
    responses: Sequence[str]
    confidences: Sequence[float]
    stimuli: Sequence[str]


def _encoder_part(
    encoder: StimulusEncoder | None, stimuli: Sequence[str]
) -> tuple[dict[str, object], list[np.ndarray]]:
    """The encoder's description for the page and its codebook rows (after the tie vector),
    derived from ``(dim, seed, schema)`` exactly as :class:`StimulusEncoder` derives them."""
    if encoder is None:
        return {"kind": "vectors"}, []
    dim, seed = encoder.dim, encoder.seed
    keys = ItemMemory(dim, seed, "feature", cache_size=None)
    rows: list[np.ndarray] = []
    if encoder.schema is None:
        alphabet = sorted(set(ASCII).union(*map(set, stimuli)))
        chars = ItemMemory(dim, seed, "char", cache_size=0)
        rows.append(np.stack([chars.derive(c) for c in alphabet]))
        return {"kind": "text", "ngram": encoder.ngram, "alphabet": alphabet}, rows
    numeric: list[dict[str, object]] = []
    categorical: list[dict[str, object]] = []
    items = ItemMemory(dim, seed, "category", cache_size=0)
    offset = 1  # row 0 of codebooks.bin is the tie vector
    features = sorted(encoder.schema.features.items())
    for name, spec in features:
        if isinstance(spec, NumericFeature):
            levels = LevelCodebook(dim, spec.low, spec.high, spec.levels, seed=seed, label=name)
            rows.append(levels.table ^ keys[name])
            numeric.append(
                {
                    "name": name,
                    "low": spec.low,
                    "high": spec.high,
                    "levels": spec.levels,
                    "row": offset,
                }
            )
            offset += spec.levels
    for name, spec in features:
        if isinstance(spec, CategoricalFeature):
            if not spec.categories:
                raise InputError(
                    f"feature {name!r} has an open vocabulary (no categories); the page can "
                    "encode only closed ones: infer the schema with `emily schema infer`"
                )
            rows.append(
                np.stack([keys[name] ^ items.derive(f"{name}={v}") for v in spec.categories])
            )
            categorical.append({"name": name, "categories": list(spec.categories), "row": offset})
            offset += len(spec.categories)
    return {"kind": "records", "numeric": numeric, "categorical": categorical}, rows


def write_bundle(
    folder: Path,
    reflexes: BundleReflexes,
    *,
    dim: int,
    threshold: float,
    encoder: StimulusEncoder | None,
    title: str,
    fingerprint: str = "",
) -> list[Path]:
    """Write a static bundle into ``folder`` (created; files of an older bundle replaced).

    Args:
        folder: Target folder (must not be a file).
        reflexes: The rows and their reflexes, in slot order.
        dim: Dimension in bits.
        threshold: Least similarity of a hit (the home's calibrated one).
        encoder: The home's encoder (``None``: the page answers packed vectors only).
        title: Shown as the page's heading (e.g. the schema's name and version).
        fingerprint: The encoder fingerprint the rows were written with.

    Returns:
        The files written.
    """
    kernel = require_kernel()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; expected a folder to write the bundle into")
    matrix = np.ascontiguousarray(check_packed(reflexes.vectors, dim, batch=True))
    n = matrix.shape[0]
    if not len(reflexes.ids) == len(reflexes.responses) == len(reflexes.confidences) == n:
        raise InputError("vectors, ids, responses and confidences must have equal lengths")
    described, rows = _encoder_part(encoder, reflexes.stimuli)
    codebooks = np.concatenate([tie_vector(dim)[np.newaxis], *rows]) if rows else tie_vector(dim)
    manifest = {
        "format": FORMAT,
        "title": title,
        "dim": dim,
        "width": dim // 8,
        "head_width": _head_width(dim // 8),
        "threshold": threshold,
        "fingerprint": fingerprint,
        "encoder": described,
        "n": n,
        "codebook_rows": int(codebooks.size // (dim // 8)),
        "reflexes": {
            "ids": list(reflexes.ids),
            "responses": list(reflexes.responses),
            "confidences": [float(c) for c in reflexes.confidences],
            "stimuli": list(reflexes.stimuli),
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "bundle.json", folder / "reflexes.bin", folder / "codebooks.bin"]
    written[0].write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    written[1].write_bytes(matrix.tobytes())
    written[2].write_bytes(np.ascontiguousarray(codebooks).tobytes())
    for source in (kernel, *map(page_path, PAGE_FILES)):
        target = folder / source.name
        shutil.copyfile(source, target)
        written.append(target)
    return written


__all__ = [
    "BUILD_HINT",
    "FORMAT",
    "BundleReflexes",
    "kernel_path",
    "page_path",
    "require_kernel",
    "write_bundle",
]
