"""The gate's invariants, for any signals, times, band frequency and power (Hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from emily.core import InputError, ManualClock
from emily.nervous_system import ALPHA_BAND_HZ, AlphaOscillatoryAttention, inhibition_gain

frequencies = st.floats(*ALPHA_BAND_HZ)
powers = st.floats(0.0, 50.0)
times = st.floats(-1e3, 1e3)
phases = st.floats(-1e3, 1e3)
sizes = st.integers(1, 64)


@st.composite
def stimuli(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """(signals, timestamps) of one length: finite values, times in any order, with repeats."""
    n = draw(sizes)
    signals = draw(arrays(np.float64, n, elements=st.floats(-1e6, 1e6)))
    stamps = draw(arrays(np.float64, n, elements=st.sampled_from([0.0, 0.5]) | times))
    return signals, stamps


def _attention(frequency: float = 8.0, **kwargs: float) -> AlphaOscillatoryAttention:
    return AlphaOscillatoryAttention(frequency, clock=ManualClock(), **kwargs)


@given(stimuli(), frequencies, powers, st.none() | st.floats(0.0, 1e6))
def test_gains_stay_in_unit_interval_and_output_keeps_length_and_order(
    stimulus: tuple[np.ndarray, np.ndarray], frequency: float, power: float, threshold: float | None
) -> None:
    signals, stamps = stimulus
    gate = _attention(frequency, alpha_power=power, salience_reset_threshold=threshold).gate
    gated, gain, stamped = gate(signals, stamps)
    assert gated.shape == gain.shape == signals.shape
    assert np.all((gain >= 0.0) & (gain <= 1.0))
    np.testing.assert_array_equal(gated, gain * signals)  # element i is signal i, gated
    np.testing.assert_array_equal(stamped, stamps)


@given(stimuli(), st.randoms(use_true_random=False), st.none() | st.floats(0.0, 1e6))
def test_reordering_the_input_reorders_the_output_and_nothing_else(
    stimulus: tuple[np.ndarray, np.ndarray], random: object, threshold: float | None
) -> None:
    signals, stamps = stimulus
    order = np.arange(signals.size)
    random.shuffle(order)  # type: ignore[attr-defined]
    straight = _attention(salience_reset_threshold=threshold).gate(signals, stamps)
    shuffled = _attention(salience_reset_threshold=threshold).gate(signals[order], stamps[order])
    np.testing.assert_array_equal(shuffled.gated, straight.gated[order])


@given(frequencies, powers, times, st.integers(-50, 50))
def test_gain_is_periodic_with_period_one_over_f(
    frequency: float, power: float, t: float, cycles: int
) -> None:
    attention = _attention(frequency, alpha_power=power)
    shifted = t + cycles / frequency
    here, there = attention.gain_at([t, shifted])
    # f*t reaches 1.3e4 cycles, so the phase carries ~1e-11 rad of rounding; the gain's slope is
    # at most P/2 per radian.
    assert there == pytest.approx(here, abs=1e-9 * max(power, 1.0))


@given(phases, powers, powers)
def test_gain_is_non_increasing_in_power_at_every_phase(
    phase: float, power: float, other: float
) -> None:
    low, high = sorted((power, other))
    assert inhibition_gain(phase, low) >= inhibition_gain(phase, high)


@given(stimuli(), frequencies, powers, powers, st.floats(0.0, 10.0))
def test_a_stronger_alpha_never_lets_more_through(
    stimulus: tuple[np.ndarray, np.ndarray],
    frequency: float,
    power: float,
    other: float,
    power_gain: float,
) -> None:
    signals, stamps = stimulus
    low, high = sorted((power, other))
    weak = _attention(frequency, alpha_power=low, alpha_power_gain=power_gain)
    strong = _attention(frequency, alpha_power=high, alpha_power_gain=power_gain)
    assert np.all(weak.gate(signals, stamps).gain >= strong.gate(signals, stamps).gain)
    assert np.all(
        np.abs(weak.gate(signals, stamps).gated) >= np.abs(strong.gate(signals, stamps).gated)
    )


@given(
    frequencies,
    st.floats(0.0, 10.0),
    st.lists(times, max_size=5),
    times,
    st.lists(times, max_size=10),
)
def test_phase_reset_lands_at_release_and_erases_the_history(
    frequency: float, power: float, history: list[float], reset_at: float, probes: list[float]
) -> None:
    """After ``reset_phase(at)``, the phase at ``t >= at`` is ``pi + 2*pi*f*(t - at)``, whatever
    resets and retunes came before; a reset earlier than the anchor changes nothing."""
    clock = ManualClock()
    attention = AlphaOscillatoryAttention(frequency, alpha_power=power, clock=clock)
    fresh = AlphaOscillatoryAttention(frequency, alpha_power=power, clock=ManualClock())
    for earlier in sorted(history):
        attention.reset_phase(at=earlier)
    anchor = max([0.0, *history])  # construction anchors the phase at clock time 0
    probes_after = np.array([reset_at, *(reset_at + abs(p) for p in probes)])
    before = attention.gain_at(probes_after)
    attention.reset_phase(at=reset_at)
    if reset_at < anchor:
        np.testing.assert_array_equal(attention.gain_at(probes_after), before)
        return
    fresh.reset_phase(at=reset_at)
    np.testing.assert_array_equal(attention.gain_at(probes_after), fresh.gain_at(probes_after))
    assert attention.gain_at([reset_at])[0] == 1.0
    expected = (math.pi + 2 * math.pi * frequency * (probes_after - reset_at)) % (2 * math.pi)
    difference = np.angle(np.exp(1j * (attention.phase_at(probes_after) - expected)))
    assert np.all(np.abs(difference) < 1e-8)


@given(stimuli(), st.floats(0.0, 1e6))
def test_salient_signals_in_a_call_reset_like_explicit_resets(
    stimulus: tuple[np.ndarray, np.ndarray], threshold: float
) -> None:
    """One call with a salience threshold equals: reset at each salient time, then gate each
    signal with the latest reset at or before its time (the documented rule), one at a time."""
    signals, stamps = stimulus
    _, gain, _ = _attention(salience_reset_threshold=threshold).gate(signals, stamps)
    salient = sorted(
        {t for x, t in zip(signals, stamps, strict=True) if abs(x) >= threshold if t >= 0.0}
    )
    for i, t in enumerate(stamps):
        replay = _attention()
        for reset in (r for r in salient if r <= t):
            replay.reset_phase(at=reset)
        assert gain[i] == replay.gain_at([t])[0]


bad_values = st.sampled_from([math.nan, math.inf, -math.inf])


@given(stimuli(), bad_values, st.data(), st.booleans())
def test_non_finite_values_are_refused_with_their_place(
    stimulus: tuple[np.ndarray, np.ndarray], bad: float, data: st.DataObject, in_stamps: bool
) -> None:
    signals, stamps = stimulus
    index = data.draw(st.integers(0, signals.size - 1))
    (stamps if in_stamps else signals)[index] = bad
    name = "timestamps" if in_stamps else "signals"
    with pytest.raises(InputError, match=rf"{name}\[\d+\] is (nan|-?inf)"):
        _attention().gate(signals, stamps)


@given(stimuli(), st.integers(0, 64))
def test_a_timestamp_per_signal_or_a_clear_error(
    stimulus: tuple[np.ndarray, np.ndarray], count: int
) -> None:
    signals, stamps = stimulus
    assume(count != signals.size)
    wrong = np.resize(stamps, count)
    with pytest.raises(InputError, match=r"timestamps (has|is empty)"):
        _attention().gate(signals, wrong)
