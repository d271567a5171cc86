"""Answers out of a run: one JSON line per stimulus, and the counts a summary is made of.

``--out`` exists so that what the loop did can be checked and scored outside Emily: every input
stimulus gets exactly one line, in input order, suppressed ones included (a suppressed labelled
stimulus is reported as such, never silently lost). Everything but ``latency_s`` is a function
of the input file, the seed and what the home had learned, so two runs of the same file can be
compared line by line.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from emily.runtime.loop import Answer, TriuneRuntime


def answer_record(answer: Answer) -> dict[str, Any]:
    """The JSON object of one answer (``id`` first, then every field of ``Answer``)."""
    fields = answer.model_dump(mode="json")
    return {"id": fields.pop("stimulus_id"), **fields}


PHASE_LOCKED = 0.9
"""Mean resultant length of the stimuli's phases above which a run warns of phase locking."""


class AnswerWriter:
    """Writes answers as JSON lines to ``path`` (created with its folder; closed by ``close``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: IO[str] = path.open("w", encoding="utf-8")

    def write(self, answers: Sequence[Answer]) -> None:
        self._handle.writelines(json.dumps(answer_record(a)) + "\n" for a in answers)

    def close(self) -> None:
        self._handle.close()


class AnswerTally:
    """Counts over a run's answers: tiers, suppression (labelled or not), learning, cognition."""

    def __init__(self) -> None:
        self.n = 0
        self.counts: Counter[str] = Counter()
        self._phasor = 0j  # sum of exp(i * 2 pi f t) over stream times: phase locking
        self._timed = 0

    def add(self, answers: Sequence[Answer], frequency_hz: float | None = None) -> None:
        """Count ``answers``; with ``frequency_hz``, also where their stream times fall in the
        oscillator's cycle (see :meth:`phase_locking`)."""
        c = self.counts
        if frequency_hz is not None:
            times = np.asarray([a.time_s for a in answers if a.time_s is not None])
            self._phasor += complex(np.exp(2j * np.pi * frequency_hz * times).sum())
            self._timed += len(times)
        for a in answers:
            c[a.tier] += 1
            if a.tier == "suppressed" and a.label is not None:
                c["suppressed_labelled"] += 1
            c["learned"] += a.learned
            c["cognition_offered"] += a.cognition_offered
            if a.tier == "instinct" and a.label is not None:
                c["labelled_hits"] += 1
                c["correct_hits"] += a.response == a.label
        self.n += len(answers)

    def phase_locking(self) -> float | None:
        """The mean resultant length of the stimuli's oscillator phases, in [0, 1]: near 0 when
        stimuli fall all over the cycle, 1 when every stimulus meets the same phase (regular
        times at a divisor of the frequency, e.g. one per second at 8 Hz). ``None`` below 20."""
        return abs(self._phasor) / self._timed if self._timed >= 20 else None

    def as_dict(self) -> dict[str, int]:
        c = self.counts
        return {
            "n": self.n,
            "hits": c["instinct"],
            "misses": c["none"],
            "suppressed": c["suppressed"],
            "suppressed_labelled": c["suppressed_labelled"],
            "learned": c["learned"],
            "cognition_offered": c["cognition_offered"],
            "labelled_hits": c["labelled_hits"],
            "correct_hits": c["correct_hits"],
        }

    def describe(self, runtime: TriuneRuntime, *, gate: str) -> str:
        """Lines for a person: what happened to the stimuli, and why some were not answered."""
        c = self.counts
        lines = [
            f"answers: {_count(c['instinct'], 'reflex hit')}, "
            f"{_count(c['none'], 'miss', 'misses')} (novel), {c['suppressed']:,} suppressed; "
            f"{_count(c['learned'], 'lesson')} learned; "
            f"{c['cognition_offered']:,} offered to cognition"
        ]
        if c["labelled_hits"]:
            lines.append(
                f"reflex accuracy: {c['correct_hits'] / c['labelled_hits']:.1%} of "
                f"{c['labelled_hits']:,} labelled hits match their label"
            )
        if c["suppressed"]:
            config = runtime.regulator.config
            labelled = c["suppressed_labelled"]
            lines.append(
                f"suppressed: the alpha gate's gain was below {config.suppress_below:g} (the "
                f"inhibitory peak of the {runtime.attention.frequency:g} Hz cycle) for "
                f"{c['suppressed']:,} stimuli, {labelled:,} of them labelled (not answered, "
                "not learned; see --out); `--gate off` answers every stimulus"
            )
        elif gate == "off":
            lines.append("gate: off (every stimulus answered)")
        locking = self.phase_locking()
        if gate != "off" and locking is not None and locking > PHASE_LOCKED:
            lines.append(
                f"[yellow]warning[/yellow]: the stimuli are phase-locked to the "
                f"{runtime.attention.frequency:g} Hz oscillator (resultant {locking:.2f}): their "
                "times are regular at a divisor of its period, so the gate meets (nearly) the "
                "same phase every time and passes all or none of them; give other timestamps, "
                "another --rate, or --gate off"
            )
        return "\n".join(lines)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"
