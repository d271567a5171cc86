"""Properties of stable assignment, flags files and the decision ledger."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from emily.ops.flags import FlagsFile, FlagSpec, Rollout, evaluate, parse_flags
from emily.ops.registry import Decision, DecisionLedger
from emily.ops.rollout import assign_variant, in_percentage, stable_bucket

keys = st.text(min_size=0, max_size=40)
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
values = st.one_of(st.booleans(), st.integers(-1000, 1000), st.floats(-1e6, 1e6), names)


@settings(deadline=None)
@given(key=keys, salt=keys, buckets=st.integers(1, 10**6))
def test_bucket_in_range_and_deterministic(key: str, salt: str, buckets: int) -> None:
    bucket = stable_bucket(key, salt=salt, buckets=buckets)
    assert 0 <= bucket < buckets
    assert bucket == stable_bucket(key, salt=salt, buckets=buckets)


@settings(deadline=None)
@given(key=keys, low=st.floats(0, 100), high=st.floats(0, 100))
def test_raising_a_rollout_percentage_never_drops_a_key(key: str, low: float, high: float) -> None:
    low, high = min(low, high), max(low, high)
    if in_percentage(key, salt="s", percent=low):
        assert in_percentage(key, salt="s", percent=high)


@settings(deadline=None)
@given(key=keys, weights=st.dictionaries(names, st.floats(0, 10), min_size=1, max_size=5))
def test_assigned_variant_has_positive_weight(key: str, weights: dict[str, float]) -> None:
    if sum(weights.values()) <= 0:
        return
    assert weights[assign_variant(key, salt="e", weights=weights)] > 0


@st.composite
def flag_specs(draw: st.DrawFn) -> FlagSpec:
    variants = draw(st.dictionaries(names, values, min_size=1, max_size=4))
    variant_names = st.sampled_from(sorted(variants))
    rollout = draw(st.none() | st.builds(Rollout, variant=variant_names, percent=st.floats(0, 100)))
    return FlagSpec(
        description=draw(st.text(max_size=30)),
        enabled=draw(st.booleans()),
        variants=variants,
        default_variant=draw(variant_names),
        rollout=rollout,
    )


@settings(deadline=None, max_examples=60)
@given(flags=st.dictionaries(names, flag_specs(), max_size=4), key=st.none() | keys)
def test_flags_file_round_trips_and_evaluates_to_a_declared_variant(
    flags: dict[str, FlagSpec], key: str | None
) -> None:
    original = FlagsFile(flags=flags)
    text = yaml.safe_dump(original.model_dump(mode="json", exclude_none=True))
    assert parse_flags(text) == original
    for flag_key, spec in flags.items():
        result = evaluate(flag_key, spec, key, {})
        assert result.variant is None or result.value == spec.variants[result.variant]


@settings(deadline=None, max_examples=25)
@given(
    texts=st.lists(
        st.tuples(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=50)),
        min_size=1,
        max_size=5,
    )
)
def test_ledger_returns_exactly_what_was_recorded(texts: list[tuple[str, str]]) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    decisions = [
        Decision(who=who, what="promote", why=why, when=start + timedelta(seconds=i), model="m")
        for i, (who, why) in enumerate(texts)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        ledger = DecisionLedger(Path(tmp) / "d.db")
        for d in decisions:
            ledger.record(d)
        assert ledger.history("m") == decisions
