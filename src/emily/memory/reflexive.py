"""The reflexive store as the memory tier sees it: where consolidation writes new reflexes.

The instinct tier owns the reflexive store (LanceDB table ``reflexive_memory``, Hamming index
``idx_hdc_reflex``, ``create_hdc_index``/``drop_hdc_index``/``has_hdc_index``,
:class:`emily.instinct.LanceDBReflexStore`, :class:`emily.instinct.StimulusEncoder`). The memory
tier uses it read-only, through the two small protocols below, so tests and the consolidation
workflow can plug in any sink.

Text crossing into the instinct tier's Arrow table goes through the storage codec
(``emily.memory._text``): strings that Arrow cannot hold (undecodable bytes) or that the codec
marks (NUL) arrive in their encoded form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

from emily.core import Clock, system_clock
from emily.memory._text import decode_text, encode_text
from emily.memory.models import Reflex


class ReflexSink(Protocol):
    """Where consolidation puts promoted stimulus→response pairs (idempotent by ``Reflex.id``)."""

    def add_reflexes(self, reflexes: Sequence[Reflex]) -> int:
        """Upsert reflexes; returns how many were given."""
        ...

    def reflex_ids(self) -> list[str]:
        """Ids of every stored reflex (for audits and the crash test)."""
        ...


class ReflexIndexOps(Protocol):
    """The instinct tier's index functions, as migration 001 calls them."""

    def create_hdc_index(self, db: Any) -> None: ...
    def drop_hdc_index(self, db: Any) -> None: ...
    def has_hdc_index(self, db: Any) -> bool: ...


def _for_encoder(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class InstinctReflexSink:
    """Writes promoted reflexes into the instinct tier's LanceDB reflexive store.

    Confidence is ``n / (n + 1)`` for ``n`` confirmations (3 → 0.75): more evidence, more trust,
    never certainty.

    Args:
        uri: LanceDB folder or URI (``HOME/lancedb`` by default).
        dim: Hypervector dimension in bits (``EMILY_HDC_DIM``).
        seed: Codebook seed (``EMILY_SEED``), so vectors match the runtime's encoder.
        clock: Injectable clock for ``updated_at``.
    """

    def __init__(self, uri: str, dim: int, seed: int = 0, clock: Clock | None = None) -> None:
        from emily.instinct import LanceDBReflexStore, StimulusEncoder

        self.store = LanceDBReflexStore(uri, dim)
        self.encoder = StimulusEncoder(dim=dim, seed=seed)
        self._clock = clock or system_clock()

    def add_reflexes(self, reflexes: Sequence[Reflex]) -> int:
        """Upsert reflexes; an empty stimulus cannot be recognised, so it is skipped."""
        from emily.instinct import StoredReflex

        reflexes = [r for r in reflexes if r.stimulus]
        now = self._clock.now().timestamp()
        self.store.upsert(
            [
                StoredReflex(
                    id=encode_text(r.id),
                    vector=bytes(self.encoder.encode_text(_for_encoder(r.stimulus))),
                    response=encode_text(r.response),
                    confidence=r.confirmations / (r.confirmations + 1),
                    confirmations=r.confirmations,
                    updated_at=now,
                    stimulus=encode_text(r.stimulus),
                    encoder=self.encoder.fingerprint,
                )
                for r in reflexes
            ]
        )
        return len(reflexes)

    def reflex_ids(self) -> list[str]:
        return [decode_text(r.id) for r in self.store.load()]

    def reflexes(self) -> list[Reflex]:
        """Every stored reflex, decoded (for audits and tests)."""
        return [
            Reflex(
                id=decode_text(r.id),
                stimulus=decode_text(r.stimulus),
                response=decode_text(r.response),
                confirmations=max(r.confirmations, 1),
            )
            for r in self.store.load()
        ]

    def lookup(self, stimulus: str) -> Reflex | None:
        """The stored reflex for exactly this stimulus text, if any."""
        return next((r for r in self.reflexes() if r.stimulus == stimulus), None)


def reflex_index_ops() -> ReflexIndexOps:
    """The instinct tier's index functions (they accept a LanceDB connection)."""
    from emily import instinct

    return cast(ReflexIndexOps, instinct)
