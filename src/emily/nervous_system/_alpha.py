r"""Alpha-band attention gating by pulsed inhibition: a replayable oscillator model.

The model (ADR 0004 gives the reasons, what it simplifies and where the evidence is debated):

Phase.  The oscillator runs at frequency :math:`f` (8 Hz by default; 8-13 Hz accepted, other
values only with ``allow_out_of_band=True``) from an *anchor* :math:`(t_a, \varphi_a)`, set at
construction, by a phase reset or by recalibration::

    phi(t) = phi_a + 2*pi*f*(t - t_a)   (mod 2*pi)

:math:`\varphi = 0` is the alpha peak (inhibition strongest), :math:`\varphi = \pi` the trough
(inhibition released). ``t`` is always a reading of the injected clock (the temporal lock), so a
run replays exactly under a ``ManualClock``.

Gain.  Alpha is pulsed inhibition (Klimesch et al. 2007; Jensen & Mazaheri 2010): in each cycle
the inhibition waxes to the peak and wanes to the trough, and its amplitude is the alpha power
:math:`P = p \cdot k` (``alpha_power`` :math:`p` times ``alpha_power_gain`` :math:`k`), measured
in units of the excitatory drive a stimulus brings. A stimulus passes with the part of its drive
that exceeds the inhibition at that instant::

    h(phi)    = (1 + cos phi) / 2              inhibition profile, 0 at the trough, 1 at the peak
    g(phi, P) = clip(1 - P * h(phi), 0, 1)     per-signal gain
    y_i       = g(phi(t_i), P) * x_i           gated signal

Consequences, each tested: ``g`` lies in [0, 1]; it is periodic in time with period ``1/f``; it
is non-increasing in ``P`` at every phase; for ``P < 1`` inhibition only dims the peak (the least
gain is ``1 - P``), for ``P >= 1`` the part of each cycle that is fully closed (``g = 0``) is
``arccos(2/P - 1) / pi`` of the period: a point at ``P = 1``, half the cycle at ``P = 2``, all of
it as ``P`` grows. So power sets *how strongly* and *how long* each cycle inhibits, and phase sets
*when* the window of release opens (Mathewson et al. 2009; Haegens et al. 2011).

Phase reset.  A salient event at time :math:`t_r` resets the phase, as stimulus-evoked alpha
phase resets are proposed to do (Klimesch et al. 2007)::

    (t_a, phi_a) <- (t_r, phi_reset)      phi_reset = pi by default: the event lands at full release

so for ``t >= t_r`` the phase no longer depends on its history. A reset earlier than the current
anchor is ignored (history is not rewritten). ``reset_phase(at)`` resets explicitly; with
``salience_reset_threshold`` set, ``gate`` resets at every signal whose magnitude reaches it, and
the signals of the same call at or after that time see the new phase.

Reference and drift.  A reference oscillator at ``reference_frequency`` (the construction
frequency) runs from the last calibration. ``diagnostics()`` reports the frequency drift
``f - f_ref`` and the phase drift ``wrap(phi(t) - phi_ref(t))`` in (-pi, pi], which grows when the
frequency is retuned and jumps at each phase reset; ``recalibrate_phase`` puts the oscillator back
on the reference (frequency and phase).

Time of a call.  ``gate(signals)`` without timestamps stamps *every* signal of the call with one
reading of ``clock.monotonic()``: a call is the set of stimuli present at one instant, so they
share one gain. A sampled stream passes its sample times as ``timestamps``. Gate latency is the
difference of two ``clock.monotonic()`` readings around the call (zero under a ``ManualClock``).

References:
    Klimesch, Sauseng & Hanslmayr (2007). EEG alpha oscillations: the inhibition-timing
    hypothesis. Brain Research Reviews 53(1), 63-88.
    Jensen & Mazaheri (2010). Shaping functional architecture by oscillatory alpha activity:
    gating by inhibition. Frontiers in Human Neuroscience 4, 186.
    Mathewson, Gratton, Fabiani, Beck & Ro (2009). To see or not to see: prestimulus alpha phase
    predicts visual awareness. Journal of Neuroscience 29(9), 2725-2732.
    Haegens, Nacher, Luna, Romo & Jensen (2011). Alpha-oscillations in the monkey sensorimotor
    network influence discrimination performance by rhythmical inhibition of neuronal spiking.
    PNAS 108(48), 19377-19382.
"""

from __future__ import annotations

import math
import numbers
import threading
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from emily.core import Clock, ConfigError, InputError, SovereignModel, system_clock

ALPHA_BAND_HZ = (8.0, 13.0)
"""Frequencies accepted without ``allow_out_of_band`` (the classical 8-13 Hz alpha band)."""

TAU = 2.0 * math.pi
_LATENCY_WINDOW = 1024  # gate calls kept for the latency percentiles in diagnostics()

F64 = NDArray[np.float64]


class GateResult(NamedTuple):
    """What ``gate`` returns, in the input's order: ``gated, gain, _ = attention.gate(x)``."""

    gated: F64
    """``gain * signals``."""
    gain: F64
    """Per-signal gain in [0, 1]."""
    timestamps: F64
    """The clock time each signal was gated at (given, or stamped from the clock)."""


class AlphaDiagnostics(SovereignModel):
    """A snapshot of the oscillator, for ``emily doctor``, metrics and the runbooks."""

    time_s: float
    frequency_hz: float
    reference_frequency_hz: float
    frequency_drift_hz: float
    phase_rad: float
    phase_drift_rad: float
    alpha_power: float
    alpha_power_gain: float
    effective_power: float
    gain_now: float
    open_fraction: float
    last_reset_s: float | None
    gate_calls: int
    latency_samples: int
    latency_p50_s: float | None
    latency_p99_s: float | None
    latency_max_s: float | None


def inhibition_gain(phase: ArrayLike, power: float) -> F64:
    """Gain ``clip(1 - power * (1 + cos phase) / 2, 0, 1)`` at each phase (radians)."""
    cos_phase = np.array(phase, dtype=np.float64)  # a copy, so the in-place steps are safe
    return _gain_from_cos(np.cos(cos_phase, out=cos_phase), power)


def open_fraction(power: float) -> float:
    """Part of each cycle in which the gain is above zero: ``1 - arccos(2/P - 1)/pi`` for P >= 1."""
    return 1.0 if power <= 1.0 else 1.0 - math.acos(2.0 / power - 1.0) / math.pi


def _gain_from_cos(cos_phase: F64, power: float) -> F64:
    """The gain from ``cos(phase)``, in place. ``1 - P*h`` keeps ``g`` exactly monotone in ``P``."""
    cos_phase *= 0.5
    cos_phase += 0.5  # h(phi), in [0, 1]
    cos_phase *= power
    np.subtract(1.0, cos_phase, out=cos_phase)
    return np.clip(cos_phase, 0.0, 1.0, out=cos_phase)


def _wrap(angle: float) -> float:
    """An angle wrapped to (-pi, pi]."""
    wrapped = math.remainder(angle, TAU)
    return math.pi if wrapped == -math.pi else wrapped


def _finite_1d(values: ArrayLike, name: str) -> F64:
    """``values`` as a non-empty 1-D float64 array of finite numbers, or a clear ``InputError``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 1-D sequence of real numbers: {exc}") from exc
    if array.ndim != 1:
        raise InputError(f"{name} must be 1-D; got an array of shape {array.shape}")
    if array.size == 0:
        raise InputError(f"{name} is empty; expected at least one value")
    finite = np.isfinite(array)
    if not finite.all():
        index = int(np.argmin(finite))
        raise InputError(f"{name}[{index}] is {array[index]}; every value must be finite")
    return array


def _checked(name: str, value: float, *, low: float, high: float = math.inf) -> float:
    """``value`` as a float if it is a finite real number in [low, high], else a ``ConfigError``."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (real and math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{name}={value!r}; expected a finite number in [{low}, {high}]")
    return float(value)


class AlphaOscillatoryAttention:
    """An alpha-band oscillator that gates stimuli by pulsed inhibition (model: module docstring).

    Example:
        >>> from emily.core import ManualClock
        >>> attention = AlphaOscillatoryAttention(8.0, clock=ManualClock())
        >>> gated, gain, _ = attention.gate([0.2, 1.0], timestamps=[0.0, 0.0625])
        >>> gain.tolist()  # the peak of the cycle (closed), then the trough (open)
        [0.0, 1.0]
    """

    def __init__(
        self,
        frequency: float = 8.0,
        *,
        alpha_power: float = 1.0,
        alpha_power_gain: float = 1.0,
        clock: Clock | None = None,
        allow_out_of_band: bool = False,
        salience_reset_threshold: float | None = None,
        reset_to: float = math.pi,
    ) -> None:
        """Build the oscillator, anchored at phase 0 (the peak) at the clock's current time.

        Args:
            frequency: oscillation frequency in Hz; 8-13 Hz unless ``allow_out_of_band``.
            alpha_power: inhibition amplitude ``p`` in units of a stimulus's drive (>= 0).
            alpha_power_gain: multiplier ``k`` on ``alpha_power`` (>= 0), for remediation.
            clock: the time source (temporal lock); the system clock if omitted.
            allow_out_of_band: accept any positive frequency, e.g. for theta/beta experiments.
            salience_reset_threshold: ``|signal|`` at which ``gate`` resets the phase; ``None``
                (the default) never resets inside ``gate``.
            reset_to: the phase (radians) a reset sets; ``pi`` lands the event at full release.
        """
        self._lock = threading.Lock()
        self._clock = clock or system_clock()
        self._allow_out_of_band = allow_out_of_band
        self._frequency = self._checked_frequency(frequency)
        self._reference_frequency = self._frequency
        self.alpha_power = alpha_power
        self.alpha_power_gain = alpha_power_gain
        self._threshold = (
            None
            if salience_reset_threshold is None
            else _checked("salience_reset_threshold", salience_reset_threshold, low=0.0)
        )
        self._reset_to = _checked("reset_to", reset_to, low=-TAU, high=TAU)
        now = self._clock.monotonic()
        self._anchor = (now, 0.0)  # (t_a, phi_a): the oscillator's phase is phi_a at t_a
        self._reference = (now, 0.0)  # the reference oscillator's anchor (last calibration)
        self._last_reset: float | None = None
        self._latencies = np.zeros(_LATENCY_WINDOW)
        self._calls = 0

    # -- parameters -------------------------------------------------------------------------

    @property
    def frequency(self) -> float:
        """Oscillation frequency (Hz). Setting it keeps the phase continuous at the current time."""
        return self._frequency

    @frequency.setter
    def frequency(self, value: float) -> None:
        value = self._checked_frequency(value)
        with self._lock:
            now = self._clock.monotonic()
            self._anchor = (now, self._phase_at(now))
            self._frequency = value

    @property
    def reference_frequency(self) -> float:
        """The frequency drift is measured against (set by construction and recalibration)."""
        return self._reference_frequency

    @property
    def alpha_power(self) -> float:
        """Inhibition amplitude ``p`` before ``alpha_power_gain`` (>= 0)."""
        return self._alpha_power

    @alpha_power.setter
    def alpha_power(self, value: float) -> None:
        self._alpha_power = _checked("alpha_power", value, low=0.0)

    @property
    def alpha_power_gain(self) -> float:
        """Multiplier on ``alpha_power`` (>= 0); the runbook's lever for too little inhibition."""
        return self._alpha_power_gain

    @alpha_power_gain.setter
    def alpha_power_gain(self, value: float) -> None:
        self._alpha_power_gain = _checked("alpha_power_gain", value, low=0.0)

    @property
    def effective_power(self) -> float:
        """``P = alpha_power * alpha_power_gain``, the amplitude the gain equation uses."""
        return self._alpha_power * self._alpha_power_gain

    # -- gating -----------------------------------------------------------------------------

    def gate(self, signals: ArrayLike, timestamps: ArrayLike | None = None) -> GateResult:
        """Gate each signal by the gain at its time; same length and order as ``signals``.

        Args:
            signals: 1-D finite values (stimulus strengths).
            timestamps: clock times (``clock.monotonic()`` scale) of each signal, any order;
                ``None`` stamps all of them with one reading of the clock.

        Raises:
            InputError: empty, non-1-D or non-finite input, or a timestamp count that differs
                from the signal count.
        """
        started = self._clock.monotonic()
        x = _finite_1d(signals, "signals")
        if timestamps is None:
            t = np.full(x.shape, started)
        else:
            t = _finite_1d(timestamps, "timestamps")
            if t.shape != x.shape:
                raise InputError(
                    f"timestamps has {t.size} values but signals has {x.size}; give one "
                    "timestamp per signal, or none to stamp them all with the clock's time"
                )
        with self._lock:
            anchors = (
                None if self._threshold is None else self._reset_at_salient(x, t, self._threshold)
            )
            gain = self._gain_at(t, anchors)
            gated = np.multiply(gain, x)
            latency = self._clock.monotonic() - started
            self._latencies[self._calls % _LATENCY_WINDOW] = latency
            self._calls += 1
        return GateResult(gated, gain, t)

    def gain_at(self, timestamps: ArrayLike) -> F64:
        """The gain at each clock time (no phase reset, no latency record): a read-only probe."""
        t = _finite_1d(timestamps, "timestamps")
        with self._lock:
            return self._gain_at(t)

    def phase_at(self, timestamps: ArrayLike) -> F64:
        """The phase (radians, in [0, 2*pi)) at each clock time, for plots and tests."""
        t = _finite_1d(timestamps, "timestamps")
        with self._lock:
            return TAU * self._cycles(t)

    # -- phase control ----------------------------------------------------------------------

    def reset_phase(self, at: float | None = None) -> None:
        """Reset the phase to ``reset_to`` at clock time ``at`` (default: now), as a salient event.

        A reset earlier than the current anchor is ignored: it would rewrite history.
        """
        when = self._clock.monotonic() if at is None else _checked("at", at, low=-math.inf)
        with self._lock:
            if when >= self._anchor[0]:
                self._anchor = (when, self._reset_to)
                self._last_reset = when

    def recalibrate_phase(self, reference_frequency: float | None = None) -> None:
        """Put the oscillator back on the reference: its frequency, and its phase at this instant.

        ``reference_frequency`` (Hz) replaces the reference first; the reference's own phase stays
        continuous, so repeated recalibration never jumps it.
        """
        with self._lock:
            now = self._clock.monotonic()
            reference_phase = self._reference_phase(now)
            if reference_frequency is not None:
                self._reference_frequency = self._checked_frequency(reference_frequency)
            self._reference = (now, reference_phase)
            self._anchor = (now, reference_phase)
            self._frequency = self._reference_frequency

    # -- observation ------------------------------------------------------------------------

    def diagnostics(self) -> AlphaDiagnostics:
        """Frequency, phase, power, drift against the reference and recent gate latencies."""
        with self._lock:
            now = self._clock.monotonic()
            phase = self._phase_at(now)
            power = self.effective_power
            recent = self._latencies[: min(self._calls, _LATENCY_WINDOW)]
            p50, p99, worst = (
                (float(v) for v in (*np.percentile(recent, [50, 99]), recent.max()))
                if recent.size
                else (None, None, None)
            )
            return AlphaDiagnostics(
                time_s=now,
                frequency_hz=self._frequency,
                reference_frequency_hz=self._reference_frequency,
                frequency_drift_hz=self._frequency - self._reference_frequency,
                phase_rad=phase,
                phase_drift_rad=_wrap(phase - self._reference_phase(now)),
                alpha_power=self._alpha_power,
                alpha_power_gain=self._alpha_power_gain,
                effective_power=power,
                gain_now=float(inhibition_gain(phase, power)),
                open_fraction=open_fraction(power),
                last_reset_s=self._last_reset,
                gate_calls=self._calls,
                latency_samples=int(recent.size),
                latency_p50_s=p50,
                latency_p99_s=p99,
                latency_max_s=worst,
            )

    # -- internals (callers hold self._lock) ------------------------------------------------

    def _checked_frequency(self, value: float) -> float:
        if self._allow_out_of_band:
            value = _checked("frequency", value, low=0.0)
            if value > 0:
                return value
            raise ConfigError("frequency=0.0 Hz; expected a positive frequency")
        try:
            return _checked("frequency", value, low=ALPHA_BAND_HZ[0], high=ALPHA_BAND_HZ[1])
        except ConfigError as exc:
            raise ConfigError(
                f"{exc} Hz (the alpha band); pass allow_out_of_band=True to use it anyway"
            ) from None

    def _cycles(self, t: F64, anchors: tuple[F64, F64] | None = None) -> F64:
        """Phase in cycles, in [0, 1), at each time, from the anchor (or per-time ``anchors``)."""
        t_a, phi_a = self._anchor if anchors is None else anchors
        cycles = np.subtract(t, t_a)  # (N,) seconds since the anchor
        cycles *= self._frequency
        cycles += np.divide(phi_a, TAU)
        cycles -= np.floor(cycles)
        return cycles

    def _gain_at(self, t: F64, anchors: tuple[F64, F64] | None = None) -> F64:
        cycles = self._cycles(t, anchors)
        cycles *= TAU
        return _gain_from_cos(np.cos(cycles, out=cycles), self.effective_power)

    def _phase_at(self, t: float) -> float:
        return float(TAU * self._cycles(np.array([t]))[0])

    def _reference_phase(self, t: float) -> float:
        t_c, phi_c = self._reference
        return (phi_c + TAU * self._reference_frequency * (t - t_c)) % TAU

    def _reset_at_salient(self, x: F64, t: F64, threshold: float) -> tuple[F64, F64] | None:
        """Reset at each salient signal; return each time's anchor (the latest at or before it).

        ``None`` when nothing in the call is salient (every time keeps the current anchor).
        """
        t_a, phi_a = self._anchor
        resets = np.unique(t[(np.abs(x) >= threshold) & (t >= t_a)])  # sorted
        if resets.size == 0:
            return None
        times = np.concatenate(([t_a], resets))  # (R+1,) anchor times, sorted
        phases = np.full(times.shape, self._reset_to)
        phases[0] = phi_a
        latest = np.maximum(np.searchsorted(times, t, side="right") - 1, 0)  # (N,) anchor index
        self._anchor = (float(resets[-1]), self._reset_to)
        self._last_reset = float(resets[-1])
        return times[latest], phases[latest]
