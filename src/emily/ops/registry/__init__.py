"""Model registry: versions with validated model cards, aliases, and an audit ledger.

Public names are imported on first use (PEP 562): ``log_trained_gflownet`` brings pandas,
which the registry's other names do without.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.registry._cards import (
        CARDS_FOLDER,
        ModelCard,
        ModelCardError,
        ModelCardSpec,
        card_json_schema,
        default_card_path,
        load_card,
        parse_card,
        resolve_card,
    )
    from emily.ops.registry._ledger import Decision, DecisionLedger, DecisionRecorder
    from emily.ops.registry._pyfunc import log_trained_gflownet
    from emily.ops.registry._registry import (
        ALIASES,
        COGNITION_MODEL,
        ModelRegistry,
        ModelVersionInfo,
        RegisteredModelInfo,
        default_ledger,
    )

_HOMES = {
    "emily.ops.registry._cards": (
        "CARDS_FOLDER", "ModelCard", "ModelCardError", "ModelCardSpec", "card_json_schema",
        "default_card_path", "load_card", "parse_card", "resolve_card",
    ),
    "emily.ops.registry._ledger": ("Decision", "DecisionLedger", "DecisionRecorder"),
    "emily.ops.registry._pyfunc": ("log_trained_gflownet",),
    "emily.ops.registry._registry": (
        "ALIASES", "COGNITION_MODEL", "ModelRegistry", "ModelVersionInfo", "RegisteredModelInfo",
        "default_ledger",
    ),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "ALIASES",
    "CARDS_FOLDER",
    "COGNITION_MODEL",
    "Decision",
    "DecisionLedger",
    "DecisionRecorder",
    "ModelCard",
    "ModelCardError",
    "ModelCardSpec",
    "ModelRegistry",
    "ModelVersionInfo",
    "RegisteredModelInfo",
    "card_json_schema",
    "default_card_path",
    "default_ledger",
    "load_card",
    "log_trained_gflownet",
    "parse_card",
    "resolve_card",
]
