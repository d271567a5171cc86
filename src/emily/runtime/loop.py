"""The triune loop: nervous system → instinct → (cognition, asynchronously) for each stimulus.

Per stimulus, on the caller's thread and allocation-light (this is the reflex path):

1. the alpha gate turns the stimulus' salience into a gain in [0, 1], reading the oscillator at
   the stimulus's time: its place on the stream's own time line for a file (``timeline``),
   the injected clock for live sources; with the gate off every stimulus passes at gain 1;
2. the regulator picks a route from the gain: suppress, reflex only, or reflex then cognition
   (in fallback it never picks cognition);
3. the reflex memory answers from its packed matrix (hit, or a miss below threshold);
4. on a miss or an unsure hit whose route allows it, the stimulus is *offered* to cognition —
   a bounded queue served by a worker thread, so a slow GFlowNet never delays this answer;
5. the answer's latency is reported to the regulator (budget breaches → fallback) and metrics;
   a file replay measures it but does not let it steer routes;
6. if the stimulus carries a teaching label and the answer was a miss or wrong, the pair is
   handed to the ``Teacher`` (``runtime.teacher``), which learns reflexes in batches on its own
   thread: a durable reflex write costs milliseconds (LanceDB write-through), far more than an
   answer, so it must never happen on the reflex path. A file replay instead writes each
   chunk's lessons before the next chunk (a barrier), so what a stimulus sees never depends on
   thread timing. This is how the demo's hit ratio climbs;
7. the answer is appended to the episodic ``EpisodeJournal`` (a deque append; the graph write
   happens in batches on the journal's thread) and published on the bus (``RuntimeBus``, whose
   outbox queues while nobody listens).

``handle`` is ``handle_many`` of one: a batch takes one vectorised gate call and one batched
reflex scan, and each answer's latency is the batch's time divided by its size.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

import numpy as np

from emily.core import Clock, SovereignModel, system_clock
from emily.instinct import ReflexHit, ReflexMemory, ReflexMiss, StimulusEncoder
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, Route
from emily.runtime.bus import RuntimeBus
from emily.runtime.cognition_worker import (
    CognitionWorker,
    Hypothesis,
    HypothesisBatch,
    HypothesisSource,
)
from emily.runtime.journal import EpisodeJournal, JournalEntry
from emily.runtime.metrics import RuntimeMetrics, Tier
from emily.runtime.stimuli import FeatureValue, Stimulus
from emily.runtime.teacher import STORE_DEPENDENCY, Teacher

UNSURE_MARGIN = 0.25
"""A hit in the lowest ``UNSURE_MARGIN`` of the span from the hit threshold to 1 is unsure: it
still asks cognition for hypotheses (if routed)."""

__all__ = [  # the cognition types are re-exported: callers know them as the loop's
    "Answer",
    "CognitionWorker",
    "Hypothesis",
    "HypothesisBatch",
    "HypothesisSource",
    "Learning",
    "TriuneRuntime",
]

Learning = Literal["background", "barrier", "off"]
"""How answers teach reflexes: see ``TriuneRuntime._learn``."""


class Answer(SovereignModel):
    """What Emily answered to one stimulus, and how."""

    stimulus_id: str
    route: Route
    state: str
    gain: float
    tier: Literal["instinct", "none", "suppressed"]
    response: str | None
    similarity: float | None
    latency_s: float
    cognition_offered: bool
    learned: bool
    label: str | None = None
    """The teaching label the stimulus carried, if any."""
    time_s: float | None = None
    """Where the gate read the oscillator on the stream's time line (``None``: the clock)."""


class TriuneRuntime:
    """Joins the tiers; see the module docstring for the per-stimulus path."""

    def __init__(
        self,
        *,
        encoder: StimulusEncoder,
        reflexes: ReflexMemory,
        attention: AlphaOscillatoryAttention,
        regulator: Regulator,
        metrics: RuntimeMetrics | None = None,
        cognition: HypothesisSource | None = None,
        clock: Clock | None = None,
        learn_confidence: float = 0.8,
        hypotheses_kept: int = 32,
        journal: EpisodeJournal | None = None,
        bus: RuntimeBus | None = None,
        on_close: Sequence[Callable[[], None]] = (),
        run_id: str | None = None,
        gate: bool = True,
        learning: Learning = "background",
        latency_steers: bool = True,
    ) -> None:
        """``journal`` and ``bus`` are optional; both are closed by :meth:`close`, then the
        ``on_close`` callables run (the builder closes the stores it opened there).

        ``gate=False`` lets every stimulus pass with gain 1 (``emily run --gate off``, learning
        and evaluation). ``learning`` picks how answers teach (``_learn``). ``latency_steers``
        reports each answer's latency to the regulator (live streams); a file replay turns it
        off, so its routes never depend on the machine's speed.
        """
        self.encoder = encoder
        self.reflexes = reflexes
        self.attention = attention
        self.regulator = regulator
        self.metrics = metrics or RuntimeMetrics()
        self.clock = clock or system_clock()
        self.learn_confidence = learn_confidence
        self.tiers: Counter[str] = Counter()
        self.latencies: deque[float] = deque(maxlen=10_000)
        self.hypotheses: deque[HypothesisBatch] = deque(maxlen=hypotheses_kept)
        self._lock = threading.Lock()
        self.cognition = (
            CognitionWorker(cognition, self._receive, clock=self.clock)
            if cognition is not None
            else None
        )
        self.gate = gate
        self.conform: Callable[[Stimulus], Stimulus] = lambda stimulus: stimulus
        """Fits a live stimulus to the home's schema (clamping, unseen categories); the builder
        sets it when the runtime answers with a home's schema (see ``runtime.schema_store``)."""
        self.learning: Learning = learning
        self.latency_steers = latency_steers
        self.teacher = Teacher(
            reflexes,
            learn_confidence,
            on_health=lambda up: self.regulator.report_dependency(STORE_DEPENDENCY, up),
            on_failure=lambda _: self.metrics.teacher_failures.inc(),
            clock=self.clock,
        )
        self.journal = journal
        self.bus = bus
        self._on_close = list(on_close)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._episode_seq = itertools.count()
        self._states = [str(s) for s in type(regulator.state)]
        regulator.add_listener(lambda t: self.metrics.set_state(str(t.to_state), self._states))
        self.metrics.set_state(str(regulator.state), self._states)

    def handle(self, stimulus: Stimulus, at: float | None = None) -> Answer:
        """Answer one stimulus on the reflex path (cognition, if any, runs later).

        ``at`` is the stimulus's time on the stream's own time line (seconds; see
        ``runtime.timeline``): the alpha gate's phase is read there. ``None`` reads the
        injected clock, as live sources do.
        """
        return self.handle_many([stimulus], None if at is None else [at])[0]

    def handle_many(
        self, stimuli: Sequence[Stimulus], at: Sequence[float] | None = None
    ) -> list[Answer]:
        """Answer a batch on the reflex path: one gate call, one batched scan, bulk bookkeeping.

        ``at`` gives each stimulus's stream time (else all share the clock's one reading). The
        regulator judges latency per stimulus: the batch's time divided by its size, which is
        also each answer's ``latency_s`` (the reflex path's cost of one answer), so a legal
        batch never trips the latency fallback by its size alone.
        """
        n = len(stimuli)
        if n == 0:
            return []
        start = self.clock.monotonic()
        if self.gate:
            salience = np.fromiter((s.salience for s in stimuli), np.float64, n)
            times = None if at is None else np.asarray(at, dtype=np.float64)
            gains = self.attention.gate(salience, timestamps=times).gain.tolist()
        else:
            gains = [1.0] * n
        routes = [self.regulator.route(g) for g in gains]
        gated = self.clock.monotonic()
        passed = [i for i, r in enumerate(routes) if r is not Route.SUPPRESS]
        results: list[ReflexHit | ReflexMiss | None] = [None] * n
        vectors: dict[int, np.ndarray] = {}
        if passed:
            packed = self._encode_batch([stimuli[i].payload for i in passed])
            for i, row, found in zip(
                passed, packed, self.reflexes.lookup_batch(packed), strict=True
            ):
                vectors[i] = row
                results[i] = found
        looked_up = self.clock.monotonic()
        offered = [False] * n
        if self.cognition is not None:
            unsure_below = self.unsure_below
            for i in passed:
                result = results[i]
                unsure = not isinstance(result, ReflexHit) or result.similarity < unsure_below
                if unsure and routes[i] is Route.REFLEX_THEN_COGNITION:
                    offered[i] = self.cognition.offer(stimuli[i])
        latency = (self.clock.monotonic() - start) / n
        if self.latency_steers:
            self.regulator.report_latency(latency)
        state = str(self.regulator.state)
        answers = [
            self._answer(stimuli[i], routes[i], gains[i], results[i], latency, state, offered[i],
                         None if at is None else float(at[i]))
            for i in range(n)
        ]  # fmt: skip
        self._count_batch(answers, stimuli, results, passed, gated - start, looked_up - gated)
        self._learn(stimuli, answers, results, vectors, passed)
        if self.journal is not None:
            now = self.clock.now()
            self.journal.extend(
                self._entry(s, a, now) for s, a in zip(stimuli, answers, strict=True)
            )
        if self.bus is not None:
            for answer in answers:
                self.bus.publish_answer(answer.model_dump_json().encode())
        return answers

    @property
    def unsure_below(self) -> float:
        """Similarity under which a hit still asks cognition: the lowest quarter above the
        memory's (calibrated) hit threshold."""
        threshold = self.reflexes.threshold
        return threshold + UNSURE_MARGIN * (1.0 - threshold)

    def _learn(
        self,
        stimuli: Sequence[Stimulus],
        answers: list[Answer],
        results: Sequence[ReflexHit | ReflexMiss | None],
        vectors: dict[int, np.ndarray],
        passed: Sequence[int],
    ) -> None:
        """Teach the labelled stimuli the memory missed or got wrong; mark what was accepted.

        ``background`` queues lessons for the teacher's thread (live sources); ``barrier``
        writes them before returning, so the next batch of a file replay sees them whatever the
        machine's speed; ``off`` (evaluation) learns nothing.
        """
        if self.learning == "off":
            return
        wanted = [
            i
            for i in passed
            if stimuli[i].label is not None
            and not (isinstance(r := results[i], ReflexHit) and r.response == stimuli[i].label)
        ]
        if not wanted:
            return
        lessons = [(vectors[i], str(stimuli[i].label)) for i in wanted]
        if self.learning == "barrier":
            accepted = [self.teacher.learn_now(lessons)] * len(wanted)
        else:
            accepted = [self.teacher.teach(v, label) for v, label in lessons]
        for i, ok in zip(wanted, accepted, strict=True):
            if ok:
                answers[i] = answers[i].model_copy(update={"learned": True})

    def _encode_batch(self, payloads: list[dict[str, FeatureValue] | str]) -> np.ndarray:
        """One packed row per payload; vectorised when the encoder offers ``encode_many``.

        Encoding dominates the reflex path (a bundle of D-bit vectors per stimulus), so an
        encoder with a batch method (same bits, one pass over the batch) is used for records.
        """
        encode_many = getattr(self.encoder, "encode_many", None)
        if encode_many is not None and all(isinstance(p, dict) for p in payloads):
            batch: np.ndarray = encode_many(payloads)
            return batch
        return np.stack([self.encoder.encode(p) for p in payloads])

    @staticmethod
    def _answer(
        stimulus: Stimulus,
        route: Route,
        gain: float,
        result: ReflexHit | ReflexMiss | None,
        latency: float,
        state: str,
        offered: bool,
        at: float | None,
    ) -> Answer:
        hit = result if isinstance(result, ReflexHit) else None
        tier: Literal["instinct", "none", "suppressed"] = (
            "suppressed" if route is Route.SUPPRESS else "instinct" if hit else "none"
        )
        return Answer.model_construct(  # every field is made valid here: no re-validation
            stimulus_id=stimulus.id,
            route=route,
            state=state,
            gain=gain,
            tier=tier,
            response=hit.response if hit else None,
            similarity=None if result is None else result.similarity,
            latency_s=latency,
            cognition_offered=offered,
            learned=False,
            label=stimulus.label,
            time_s=at,
        )

    def _count_batch(
        self,
        answers: Sequence[Answer],
        stimuli: Sequence[Stimulus],
        results: Sequence[ReflexHit | ReflexMiss | None],
        passed: Sequence[int],
        gate_s: float,
        instinct_s: float,
    ) -> None:
        """Metrics and tier counts for a batch, in bulk (per-stimulus shares of each tier)."""
        n = len(answers)
        hits = [r if isinstance(r, ReflexHit) else None for r in results]
        found = sum(1 for i in passed if hits[i] is not None)
        m = self.metrics
        m.gate_signals.labels(outcome="suppressed").inc(n - len(passed))
        m.gate_signals.labels(outcome="passed").inc(len(passed))
        m.reflex_lookups.labels(result="hit").inc(found)
        m.reflex_lookups.labels(result="miss").inc(len(passed) - found)
        gate_hist = m.tier_latency.labels(tier=Tier.NERVOUS_SYSTEM)
        for _ in range(n):
            gate_hist.observe(gate_s / n)
        if passed:
            instinct_hist = m.tier_latency.labels(tier=Tier.INSTINCT)
            for _ in passed:
                instinct_hist.observe(instinct_s / len(passed))
        labelled = [(hits[i], stimuli[i].label) for i in passed if stimuli[i].label is not None]
        tiers = Counter(a.tier for a in answers)
        with self._lock:
            self.tiers.update(tiers)
            self.latencies.extend(a.latency_s for a in answers)
            for hit, label in labelled:
                if hit is not None:
                    self.tiers["labelled_hits"] += 1
                    self.tiers["correct_hits"] += hit.response == label

    def _record(self, stimulus: Stimulus, answer: Answer) -> None:
        """Journal the answer and publish it on the bus (both non-blocking)."""
        if self.journal is not None:
            self.journal.append(self._entry(stimulus, answer, self.clock.now()))
        if self.bus is not None:
            self.bus.publish_answer(answer.model_dump_json().encode())

    def _entry(self, stimulus: Stimulus, answer: Answer, now: datetime) -> JournalEntry:
        response = answer.response or ""
        return JournalEntry(
            id=f"{self.run_id}-{next(self._episode_seq)}",
            timestamp=now,
            stimulus=stimulus,
            response=response,
            confirmed=stimulus.label is not None and stimulus.label == answer.response,
            confidence=answer.similarity or 0.0,
            hypotheses=(),
            tier=answer.tier,
            gain=answer.gain,
            state=answer.state,
            latency_s=answer.latency_s,
        )

    def _receive(self, batch: HypothesisBatch) -> None:
        self._record_hypotheses(batch)
        self.metrics.hypothesis_diversity.set(batch.diversity)
        self.metrics.cognition_latency.observe(batch.latency_s)
        if batch.mode_collapse:
            self.metrics.mode_collapse.inc()
        with self._lock:
            self.tiers["cognition"] += 1
            self.hypotheses.append(batch)

    def snapshot(self) -> tuple[dict[str, int], list[float], HypothesisBatch | None]:
        """Tier counts, recent latencies and the latest hypotheses, read consistently."""
        with self._lock:
            latest = self.hypotheses[-1] if self.hypotheses else None
            return dict(self.tiers), list(self.latencies), latest

    def _record_hypotheses(self, batch: HypothesisBatch) -> None:
        """A cognition answer is an episode too: the window it explains, its hypotheses."""
        if self.bus is not None:
            self.bus.publish_hypotheses(batch.model_dump_json().encode())
        if self.journal is None or not batch.stimulus_ids:
            return
        ids = batch.stimulus_ids
        window = f"cognition window {ids[0]} .. {ids[-1]} ({len(ids)} stimuli)"
        best = max(batch.hypotheses, key=lambda h: h.share, default=None)
        self.journal.append(
            JournalEntry(
                id=f"{self.run_id}-{next(self._episode_seq)}",
                timestamp=self.clock.now(),
                stimulus=Stimulus.model_construct(
                    id=ids[-1], features=None, text=window, salience=1.0, label=None
                ),
                response=best.description if best else "",
                confirmed=False,
                confidence=best.share if best else 0.0,
                hypotheses=tuple(h.description for h in batch.hypotheses),
                tier="cognition",
                gain=1.0,
                state=str(self.regulator.state),
                latency_s=batch.latency_s,
            )
        )

    def close(self) -> None:
        """Finish background work (queued lessons, cognition requests, the journal, the bus)."""
        self.teacher.close()
        if self.cognition is not None:
            self.cognition.close()
        if self.journal is not None:
            self.journal.close()
        if self.bus is not None:
            self.bus.close()
        for closer in self._on_close:
            closer()
