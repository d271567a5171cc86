"""Pure functions of consolidation: what a summary says, which pairs become reflexes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from emily.memory.models import Reflex, SemanticRecord, StoredEpisode


def build_summary(
    run_id: str, stimulus_key: str, group: Sequence[StoredEpisode], now: datetime
) -> SemanticRecord:
    """One consolidated summary of a stimulus's episodes in this run (deterministic id)."""
    responses = Counter(e.response for e in group)
    confirmed = Counter(e.response for e in group if e.confirmed)
    first = min(e.timestamp for e in group)
    last = max(e.timestamp for e in group)
    parts = [
        f"{resp} x{n} ({confirmed[resp]} confirmed)"
        for resp, n in sorted(responses.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    # Short text (it is what gets embedded; tokens cost time); the numbers go to metadata.
    text = f"{group[0].stimulus} -> {'; '.join(parts)}"
    metadata = json.dumps(
        {
            "run": run_id,
            "stimulus_key": stimulus_key,
            "episodes": len(group),
            "first": first.isoformat(),
            "last": last.isoformat(),
        },
        sort_keys=True,
    )
    return SemanticRecord(
        id=f"summary:{run_id}:{stimulus_key}",
        kind="summary",
        text=text,
        source="sleep",
        created_at=now,
        metadata=metadata,
    )


def promote(rows: Sequence[tuple[str, str, str, str, int]], min_confirmations: int) -> list[Reflex]:
    """The best-confirmed response per stimulus, if confirmed at least ``min_confirmations`` times.

    Ties go to the smaller response key, so the choice is deterministic across re-runs.
    """
    best: dict[str, tuple[int, str, str, str]] = {}
    for skey, rkey, stimulus, response, count in rows:
        current = best.get(skey)
        if current is None or (count, _neg(rkey)) > (current[0], _neg(current[1])):
            best[skey] = (count, rkey, stimulus, response)
    return [
        Reflex(id=f"reflex:{skey}", stimulus=stim, response=resp, confirmations=count)
        for skey, (count, _, stim, resp) in sorted(best.items())
        if count >= min_confirmations
    ]


def _neg(key: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in key)
