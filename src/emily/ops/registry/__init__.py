"""Model registry: versions with validated model cards, aliases, and an audit ledger."""

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
from emily.ops.registry._registry import (
    ALIASES,
    COGNITION_MODEL,
    ModelRegistry,
    ModelVersionInfo,
    RegisteredModelInfo,
    default_ledger,
)

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
    "parse_card",
    "resolve_card",
]
