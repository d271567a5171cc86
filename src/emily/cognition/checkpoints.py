"""Reading the cognition tier's checkpoint files (GFlowNet and structure MCMC) safely.

Both are ``torch.save`` dictionaries with a ``format`` key; they are read with
``weights_only=True`` so a file from elsewhere cannot run code, and every way a file can be
wrong (missing, truncated, not torch, not ours) becomes one :class:`InputError`.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from emily.core.errors import InputError


def read_checkpoint(source: str | Path | bytes, what: str) -> tuple[dict[str, Any], str]:
    """``(blob, where)``: the checkpoint's dictionary and how to name the file in errors.

    ``what`` names the kind expected ("GFlowNet", "MCMC", or "" for either) in the messages;
    checking the ``format`` key is the caller's.
    """
    kind = f"{what} " if what else ""
    if isinstance(source, bytes):
        handle: Any = io.BytesIO(source)
        where = "<bytes>"
    else:
        handle = Path(source)
        where = str(handle)
        if not handle.is_file():
            raise InputError(f"no {kind}checkpoint at {handle}")
    try:
        blob = torch.load(handle, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError, OSError, pickle.UnpicklingError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{where} is not a readable {kind}checkpoint: {first}") from exc
    if not isinstance(blob, dict):
        raise InputError(f"{where} is not an Emily {kind}checkpoint")
    return blob, where
