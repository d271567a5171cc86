"""AlphaOscillatoryAttention: the documented numbers, errors, resets, drift and diagnostics."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from emily.core import ConfigError, InputError, ManualClock
from emily.nervous_system import (
    AlphaOscillatoryAttention,
    _alpha,
    _regulator,
    inhibition_gain,
    open_fraction,
)


def _attention(**kwargs: object) -> tuple[AlphaOscillatoryAttention, ManualClock]:
    clock = ManualClock()
    return AlphaOscillatoryAttention(clock=clock, **kwargs), clock  # type: ignore[arg-type]


@pytest.mark.parametrize("module", [_alpha, _regulator])
def test_docstring_examples_run(module: object) -> None:
    failed, tried = doctest.testmod(module, raise_on_error=False)  # type: ignore[arg-type]
    assert tried > 0
    assert failed == 0


def test_peak_closes_trough_opens_and_output_is_gain_times_input() -> None:
    attention, _ = _attention()  # 8 Hz, P = 1: a raised cosine from 0 (peak) to 1 (trough)
    times = np.array([0.0, 1 / 32, 1 / 16, 3 / 32, 1 / 8])  # quarter cycles
    gated, gain, stamped = attention.gate([2.0, 2.0, 2.0, 2.0, 2.0], times)
    np.testing.assert_allclose(gain, [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-12)
    np.testing.assert_array_equal(gated, 2.0 * gain)
    np.testing.assert_array_equal(stamped, times)


def test_higher_power_closes_a_wider_part_of_each_cycle() -> None:
    attention, _ = _attention(alpha_power=2.0)
    times = np.linspace(0.0, 1 / 8, 80_000, endpoint=False)  # one cycle, finely sampled
    assert np.mean(attention.gain_at(times) > 0) == pytest.approx(0.5, abs=1e-3)
    assert open_fraction(2.0) == pytest.approx(0.5)
    assert open_fraction(0.7) == open_fraction(1.0) == 1.0
    attention.alpha_power_gain = 2.0  # P = 4
    measured = np.mean(attention.gain_at(times) > 0)
    assert measured == pytest.approx(open_fraction(4.0), abs=1e-3)
    assert (attention.alpha_power, attention.alpha_power_gain) == (2.0, 2.0)
    assert attention.effective_power == 4.0
    # Below P = 1 nothing is fully closed; the least gain, at the peak, is 1 - P.
    assert inhibition_gain([0.0, math.pi], 0.3).tolist() == pytest.approx([0.7, 1.0])


def test_without_timestamps_a_call_is_one_instant_of_the_clock() -> None:
    attention, clock = _attention()
    clock.advance(0.01)
    _, gain, stamped = attention.gate([0.1, 0.5, 0.9])
    assert stamped.tolist() == [0.01] * 3
    assert np.unique(gain).size == 1
    assert gain[0] == attention.gain_at([0.01])[0]


@pytest.mark.parametrize(
    ("signals", "timestamps", "message"),
    [
        ([], None, "signals is empty"),
        ([1.0, math.nan], None, r"signals\[1\] is nan"),
        ([math.inf], None, r"signals\[0\] is inf"),
        ([1.0, 2.0], [0.0, math.nan], r"timestamps\[1\] is nan"),
        ([1.0, 2.0], [0.0, -math.inf], r"timestamps\[1\] is -inf"),
        ([1.0, 2.0], [0.0], "timestamps has 1 values but signals has 2"),
        ([1.0], [0.0, 1.0], "timestamps has 2 values but signals has 1"),
        ([1.0], [], "timestamps is empty"),
        ([[1.0, 2.0]], None, r"must be 1-D; got an array of shape \(1, 2\)"),
        (["loud"], None, "must be a 1-D sequence of real numbers"),
    ],
)
def test_bad_input_is_a_clear_input_error(
    signals: object, timestamps: object, message: str
) -> None:
    attention, _ = _attention()
    with pytest.raises(InputError, match=message):
        attention.gate(signals, timestamps)  # type: ignore[arg-type]
    assert attention.diagnostics().gate_calls == 0


@pytest.mark.parametrize("frequency", [8.0, 10, 13.0])
def test_alpha_band_frequencies_are_accepted(frequency: float) -> None:
    assert _attention(frequency=frequency)[0].frequency == frequency


@pytest.mark.parametrize("frequency", [7.99, 13.01, 4.0, 40.0, math.nan, math.inf, True])
def test_frequencies_outside_the_band_need_the_override(frequency: float) -> None:
    with pytest.raises(ConfigError, match="alpha band"):
        _attention(frequency=frequency)


def test_override_accepts_any_positive_finite_frequency() -> None:
    assert _attention(frequency=4.0, allow_out_of_band=True)[0].frequency == 4.0
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ConfigError, match="frequency"):
            _attention(frequency=bad, allow_out_of_band=True)


@pytest.mark.parametrize("name", ["alpha_power", "alpha_power_gain"])
@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "1"])
def test_power_settings_are_validated(name: str, bad: object) -> None:
    with pytest.raises(ConfigError, match=name):
        _attention(**{name: bad})
    attention, _ = _attention()
    with pytest.raises(ConfigError, match=name):
        setattr(attention, name, bad)


def test_reset_lands_the_event_at_full_release_and_forgets_the_past() -> None:
    first, clock = _attention()
    second = AlphaOscillatoryAttention(9.0, clock=clock)
    clock.advance(0.2)
    second.frequency = 8.0  # a different history: 9 Hz until 0.2 s, then 8 Hz from that phase
    clock.advance(0.1)
    for attention in (first, second):
        attention.reset_phase(at=0.25)  # in the past, but later than either anchor
    later = np.linspace(0.25, 1.0, 101)
    np.testing.assert_array_equal(first.gain_at(later), second.gain_at(later))
    assert first.gain_at([0.25])[0] == 1.0
    assert first.phase_at([0.25])[0] == pytest.approx(math.pi)
    second.reset_phase(at=0.1)  # earlier than its anchor: ignored, history is not rewritten
    np.testing.assert_array_equal(first.gain_at(later), second.gain_at(later))
    assert first.diagnostics().last_reset_s == 0.25


def test_salient_signal_in_a_gate_call_resets_the_phase_for_what_follows() -> None:
    attention, _ = _attention(salience_reset_threshold=5.0)
    probe, _ = _attention()
    times = np.array([0.0, 0.01, 0.02, 0.03, 0.04])
    signals = np.array([1.0, 1.0, 9.0, 1.0, 1.0])  # salient at 0.02 s
    _, gain, _ = attention.gate(signals, times)
    np.testing.assert_array_equal(gain[:2], probe.gain_at(times[:2]))  # before: untouched
    probe.reset_phase(at=0.02)
    np.testing.assert_array_equal(gain[2:], probe.gain_at(times[2:]))
    assert gain[2] == 1.0
    np.testing.assert_array_equal(attention.gain_at(times), probe.gain_at(times))  # it stays


def test_frequency_change_is_phase_continuous_and_drift_is_reported_then_recalibrated() -> None:
    attention, clock = _attention()
    clock.advance(0.1)
    before = attention.phase_at([0.1])[0]
    attention.frequency = 10.0
    assert attention.phase_at([0.1])[0] == pytest.approx(before)
    clock.advance(0.05)  # 0.05 s at +2 Hz: a tenth of a cycle ahead of the reference
    drifted = attention.diagnostics()
    assert drifted.frequency_drift_hz == 2.0
    assert drifted.phase_drift_rad == pytest.approx(2 * math.pi * 0.1)
    attention.recalibrate_phase()
    calibrated = attention.diagnostics()
    assert calibrated.frequency_hz == calibrated.reference_frequency_hz == 8.0
    assert calibrated.phase_drift_rad == pytest.approx(0.0, abs=1e-12)
    assert calibrated.phase_rad == pytest.approx(2 * math.pi * 8.0 * 0.15 % (2 * math.pi))


def test_recalibrating_to_a_new_reference_keeps_the_reference_phase_continuous() -> None:
    attention, clock = _attention()
    clock.advance(0.1)
    attention.reset_phase()
    attention.recalibrate_phase(reference_frequency=10.0)
    assert attention.frequency == attention.reference_frequency == 10.0
    assert attention.diagnostics().phase_rad == pytest.approx(2 * math.pi * 0.8)
    clock.advance(0.025)
    assert attention.diagnostics().phase_rad == pytest.approx(2 * math.pi * 0.05)
    with pytest.raises(ConfigError, match="alpha band"):
        attention.recalibrate_phase(reference_frequency=20.0)


class _TickingClock(ManualClock):
    """A manual clock on which every monotonic() read takes ``tick`` seconds."""

    def __init__(self, tick: float) -> None:
        super().__init__()
        self.tick = tick

    def monotonic(self) -> float:
        reading = super().monotonic()
        self.advance(self.tick)
        return reading


def test_diagnostics_report_gate_latency_percentiles_from_the_clock() -> None:
    clock = _TickingClock(0.002)
    attention = AlphaOscillatoryAttention(clock=clock)
    empty = attention.diagnostics()
    assert (empty.latency_samples, empty.latency_p99_s) == (0, None)
    for _ in range(1500):
        attention.gate([1.0])
    report = attention.diagnostics()
    assert report.gate_calls == 1500
    assert report.latency_samples == 1024  # a window of the most recent calls
    assert report.latency_p50_s == pytest.approx(0.002)
    assert report.latency_p99_s == pytest.approx(0.002)
    assert 0.0 <= report.gain_now <= 1.0


def test_a_recorded_run_replays_bit_for_bit() -> None:
    def run() -> list[np.ndarray]:
        attention, clock = _attention(alpha_power=1.5, salience_reset_threshold=3.0)
        rng = np.random.default_rng(7)
        outputs = []
        for _ in range(20):
            clock.advance(float(rng.uniform(0, 0.05)))
            outputs.append(attention.gate(rng.normal(size=16) * 2).gated)
        return outputs

    for first, second in zip(run(), run(), strict=True):
        np.testing.assert_array_equal(first, second)
