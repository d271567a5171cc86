"""Stage ``prepare``: the alpha-oscillation features table, one row per episode.

Each episode gates a seeded stimulus stream (exponential strengths at ``sample_rate_hz``)
through an ``AlphaOscillatoryAttention`` running on a ``ManualClock``, so the table is a pure
function of ``params.yaml`` (DVC re-runs the stage only when those parameters or this code
change). Per episode: ``alpha_power`` is the oscillator's effective inhibition amplitude (drawn
log-normally around the configured median), ``alpha_phase`` its phase at the episode's end, and
``attention_score`` the share of stimulus drive that passed the gate (``sum(gated)/sum(x)``).

Run: ``python -m emily.ops.lineage.prepare [--params params.yaml] [--out PATH]``.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from emily.core import InputError, ManualClock
from emily.nervous_system import AlphaOscillatoryAttention
from emily.ops.lineage._params import FEATURES_FILE, PARAMS_FILE, PrepareParams, load_params


def _start_time(text: str) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"prepare.start={text!r} is not an ISO-8601 time: {exc}") from exc
    if start.tzinfo is None:
        raise InputError(f"prepare.start={text!r} needs a timezone, e.g. 2026-01-01T00:00:00+00:00")
    return start


def alpha_features(params: PrepareParams) -> pd.DataFrame:
    """The features table: episode_id, event_timestamp, alpha_power, alpha_phase, attention_score.

    Deterministic for given ``params`` (seeded generator, manual clock).
    """
    rng = np.random.default_rng(params.seed)
    start = _start_time(params.start)
    n = params.samples_per_episode
    times = np.arange(n) / params.sample_rate_hz  # (n,) seconds into the episode
    rows = []
    for episode in range(params.episodes):
        clock = ManualClock(start)
        power = params.alpha_power * float(np.exp(rng.normal(0.0, params.power_spread)))
        attention = AlphaOscillatoryAttention(params.frequency_hz, alpha_power=power, clock=clock)
        attention.reset_phase(at=float(rng.uniform(0.0, times[-1])))  # one salient event
        stimuli = rng.exponential(1.0, size=n)
        gated, _, _ = attention.gate(stimuli, timestamps=times)
        clock.advance(float(times[-1]))
        diagnostics = attention.diagnostics()
        rows.append(
            {
                "episode_id": f"ep_{episode:06d}",
                "event_timestamp": start + timedelta(seconds=episode * params.episode_spacing_s),
                "alpha_power": diagnostics.effective_power,
                "alpha_phase": diagnostics.phase_rad,
                "attention_score": float(gated.sum() / stimuli.sum()),
            }
        )
    table = pd.DataFrame(rows)
    table["event_timestamp"] = pd.to_datetime(table["event_timestamp"], utc=True)
    for column in ("alpha_power", "alpha_phase", "attention_score"):
        table[column] = table[column].astype("float32")  # the feature view's dtype
    return table


def main(argv: list[str] | None = None) -> Path:
    """Write the features table to Parquet and return its path."""
    parser = argparse.ArgumentParser(prog="python -m emily.ops.lineage.prepare")
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    parser.add_argument("--out", type=Path, default=FEATURES_FILE)
    args = parser.parse_args(argv)
    table = alpha_features(load_params(args.params).prepare)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(args.out, index=False)
    print(f"prepare: {len(table)} episodes -> {args.out}")
    return Path(args.out)


if __name__ == "__main__":
    main()
