"""``handle_many`` answers a batch exactly as ``handle`` answers each stimulus, with bookkeeping."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from emily.core import EmilyError, ManualClock
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator
from emily.runtime.loop import TriuneRuntime
from emily.runtime.stimuli import Stimulus

DIM = 2048
SCHEMA = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0, levels=16)})


def _runtime() -> TriuneRuntime:
    clock = ManualClock()
    encoder = StimulusEncoder(SCHEMA, dim=DIM)
    reflexes = ReflexMemory(DIM, encoder=encoder, clock=clock, half_life_s=None, threshold=0.9)
    reflexes.learn({"x": 0.1}, "low")
    reflexes.learn({"x": 0.9}, "high")
    runtime = TriuneRuntime(
        encoder=encoder,
        reflexes=reflexes,
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        regulator=Regulator(clock=clock),
        clock=clock,
        run_id="t",
    )
    clock.advance(1 / 16)  # half an 8 Hz cycle: the alpha trough, where the gate is open
    return runtime


def _stimuli() -> list[Stimulus]:
    values = [0.1, 0.9, 0.5, 0.12, 0.88, 0.3]
    return [
        Stimulus(
            id=f"s{i}",
            features={"x": v},
            label="mid" if v == 0.5 else None,  # one lesson: the teacher's timing cannot differ
        )
        for i, v in enumerate(values)
    ]


def test_batch_answers_match_single_answers() -> None:
    single, batch = _runtime(), _runtime()
    one_by_one = [single.handle(s) for s in _stimuli()]
    together = batch.handle_many(_stimuli())
    keys = ("stimulus_id", "route", "tier", "response", "similarity", "learned")
    assert [a.model_dump(include=set(keys)) for a in together] == [
        a.model_dump(include=set(keys)) for a in one_by_one
    ]
    assert [a.tier for a in together].count("none") == 1  # only 0.5 is unknown
    assert [a.learned for a in together] == [False, False, True, False, False, False]
    assert single.snapshot()[0] == batch.snapshot()[0]
    assert len(batch.snapshot()[1]) == 6
    single.close()
    batch.close()
    assert len(batch.reflexes) == len(single.reflexes)  # the same lessons were learned


def test_empty_batch_is_a_no_op() -> None:
    runtime = _runtime()
    assert runtime.handle_many([]) == []
    assert runtime.snapshot()[0] == {}
    runtime.close()


def test_batch_metrics_are_counted_in_bulk() -> None:
    runtime = _runtime()
    runtime.handle_many(_stimuli())
    text = runtime.metrics.exposition().decode()
    assert 'emily_gate_signals_total{outcome="passed"} 6.0' in text
    assert 'emily_reflex_lookups_total{result="hit"} 5.0' in text
    assert 'emily_reflex_lookups_total{result="miss"} 1.0' in text
    assert 'emily_tier_latency_seconds_count{tier="instinct"} 6.0' in text
    runtime.close()


def test_encode_many_matches_encode_and_validates_every_record() -> None:
    from emily.runtime.builder import demo_schema
    from emily.runtime.stimuli import demo_dataset, demo_stream

    dataset = demo_dataset()
    encoder = StimulusEncoder(demo_schema(dataset), dim=2048, seed=3)
    records = [s.features for s in islice(demo_stream(dataset, seed=1), 64)]
    batch = encoder.encode_many(records)
    assert all(
        np.array_equal(row, encoder.encode(r)) for row, r in zip(batch, records, strict=True)
    )
    bad = [records[0], {**records[1], "alcohol": "strong"}]
    with pytest.raises(EmilyError, match="numeric"):
        encoder.encode_many(bad)
