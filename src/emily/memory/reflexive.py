"""The reflexive store as the memory tier sees it: where consolidation writes new reflexes.

The instinct tier owns the reflexive store (LanceDB table ``reflexive_memory``, Hamming index
``idx_hdc_reflex``, ``create_hdc_index``/``drop_hdc_index``/``has_hdc_index``,
:class:`emily.instinct.LanceDBReflexStore`, :class:`emily.instinct.StimulusEncoder`). The memory
tier uses it read-only, through the two small protocols below, so tests and the consolidation
workflow can plug in any sink.

Text crossing into the instinct tier's Arrow table goes through the storage codec
(``emily.memory._text``): strings that Arrow cannot hold (undecodable bytes) or that the codec
marks (NUL) arrive in their encoded form.

A home with a stimulus schema answers from its own table (``reflexes_<schema>_v<N>``, a record
encoder), not from ``reflexive_memory`` (the text encoder). The journal stores a record
stimulus as its features' canonical JSON, so :meth:`InstinctReflexSink.route_to_home` makes
the sink decode that JSON and encode it with the home's schema into the home's table, where
``emily run``/``serve`` find it (issue 16 item 12: they went to ``reflexive_memory`` as text,
where no schema'd runtime reads). Only a stimulus that does not fit the schema (an episode of
an older version, a text) stays in ``reflexive_memory``, so nothing promoted is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from emily.core import Clock, InputError, system_clock
from emily.memory._text import decode_text, encode_text
from emily.memory.models import Reflex

if TYPE_CHECKING:
    from emily.instinct import LanceDBReflexStore, StimulusEncoder, StimulusSchema


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


@dataclass(frozen=True)
class _Target:
    """A reflex table and the encoder its reflexes are read with."""

    store: LanceDBReflexStore
    encoder: StimulusEncoder


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

        self.uri, self.dim, self.seed = uri, dim, seed
        self.store = LanceDBReflexStore(uri, dim)
        self.encoder = StimulusEncoder(dim=dim, seed=seed)
        self._text = _Target(self.store, self.encoder)
        self._home: _Target | None = None
        self._clock = clock or system_clock()

    def route_to_home(self, table: str, schema: StimulusSchema | None) -> None:
        """Send reflexes that fit ``schema`` to ``table``, encoded as the runtime encodes them.

        ``schema`` is the home's record schema (``None``: a text home, whose texts all go to
        ``table``). There, a reflex's id is the runtime's own (:func:`default_reflex_id` of the
        vector), so a promoted pair updates the reflex ``emily run`` learned for that stimulus
        instead of adding a second row beside it; re-running a step writes the same ids.
        """
        from emily.instinct import LanceDBReflexStore, StimulusEncoder

        store = LanceDBReflexStore(self.uri, self.dim, table_name=table)
        self._home = _Target(store, StimulusEncoder(schema, dim=self.dim, seed=self.seed))

    def add_reflexes(self, reflexes: Sequence[Reflex]) -> int:
        """Upsert reflexes; an empty stimulus cannot be recognised, so it is skipped."""
        from emily.instinct import StoredReflex, default_reflex_id

        reflexes = [r for r in reflexes if r.stimulus]
        now = self._clock.now().timestamp()
        rows: dict[int, list[StoredReflex]] = {}
        targets: dict[int, _Target] = {}
        for r in reflexes:
            target, vector = self._encode(r.stimulus)
            home = target is not self._text
            targets[id(target)] = target
            rows.setdefault(id(target), []).append(
                StoredReflex(
                    id=default_reflex_id(vector) if home else encode_text(r.id),
                    vector=bytes(vector),
                    response=encode_text(r.response),
                    confidence=r.confirmations / (r.confirmations + 1),
                    confirmations=r.confirmations,
                    updated_at=now,
                    stimulus=encode_text(r.stimulus),
                    encoder=target.encoder.fingerprint,
                )
            )
        for key, batch in rows.items():
            targets[key].store.upsert(batch)
        return len(reflexes)

    def _encode(self, stimulus: str) -> tuple[_Target, Any]:
        """Where a promoted stimulus goes and its vector there (see the module docstring)."""
        home = self._home
        text = _for_encoder(stimulus)
        if home is None:
            return self._text, self.encoder.encode_text(text)
        if home.encoder.schema is None:
            return home, home.encoder.encode_text(text)
        try:
            record = json.loads(stimulus)
            if isinstance(record, dict):
                return home, home.encoder.encode_record(record)
        except (ValueError, InputError):  # not JSON, or not this schema's record
            pass
        return self._text, self.encoder.encode_text(text)

    def _stores(self) -> list[LanceDBReflexStore]:
        return [self.store] + ([self._home.store] if self._home is not None else [])

    def reflex_ids(self) -> list[str]:
        """Ids of every reflex in the text table (and the home's table, once routed there)."""
        return [decode_text(r.id) for store in self._stores() for r in store.load()]

    def reflexes(self) -> list[Reflex]:
        """Every stored reflex, decoded (for audits and tests)."""
        return [
            Reflex(
                id=decode_text(r.id),
                stimulus=decode_text(r.stimulus),
                response=decode_text(r.response),
                confirmations=max(r.confirmations, 1),
            )
            for store in self._stores()
            for r in store.load()
        ]

    def lookup(self, stimulus: str) -> Reflex | None:
        """The stored reflex for exactly this stimulus text, if any."""
        return next((r for r in self.reflexes() if r.stimulus == stimulus), None)


def reflex_index_ops() -> ReflexIndexOps:
    """The instinct tier's index functions (they accept a LanceDB connection)."""
    from emily import instinct

    return cast(ReflexIndexOps, instinct)
