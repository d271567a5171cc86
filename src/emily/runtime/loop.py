"""The triune loop: nervous system → instinct → (cognition, asynchronously) for each stimulus.

Per stimulus, on the caller's thread and allocation-light (this is the reflex path):

1. the alpha gate turns the stimulus' salience into a gain in [0, 1];
2. the regulator picks a route from the gain: suppress, reflex only, or reflex then cognition
   (in fallback it never picks cognition);
3. the reflex memory answers from its packed matrix (hit, or a miss below threshold);
4. on a miss or an unsure hit whose route allows it, the stimulus is *offered* to cognition —
   a bounded queue served by a worker thread, so a slow GFlowNet never delays this answer;
5. the answer's latency is reported to the regulator (budget breaches → fallback) and metrics;
6. if the stimulus carries a teaching label and the answer was a miss or wrong, the pair is
   handed to the ``Teacher``, which learns reflexes in batches on its own thread: a durable
   reflex write costs milliseconds (LanceDB write-through), far more than an answer, so it must
   never happen on the reflex path. This is how the demo's hit ratio climbs.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from typing import Literal, Protocol

import numpy as np

from emily.core import Clock, SovereignModel, system_clock
from emily.instinct import ReflexHit, ReflexMemory, StimulusEncoder
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, Route
from emily.runtime.metrics import RuntimeMetrics, Tier
from emily.runtime.stimuli import Stimulus

UNSURE_BELOW = 0.85
"""Similarity under which a reflex hit still asks cognition for hypotheses (if routed)."""


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


class Hypothesis(SovereignModel):
    """One hypothesis from cognition: a description, its sampled share and log-reward."""

    description: str
    share: float
    log_reward: float


class HypothesisBatch(SovereignModel):
    """A batch of hypotheses answering a window of stimuli."""

    stimulus_ids: tuple[str, ...]
    hypotheses: tuple[Hypothesis, ...]
    diversity: float
    mode_collapse: bool
    latency_s: float


class HypothesisSource(Protocol):
    """Cognition as the runtime sees it: hypotheses for a window of stimuli."""

    min_window: int
    """Stimuli needed before a window is worth a batch."""

    def hypothesise(self, window: Sequence[Stimulus]) -> HypothesisBatch: ...


class CognitionWorker:
    """Serves cognition requests in a separate process, one batch in flight at a time.

    Why a process: a GFlowNet training loop in a thread would hold the GIL for long stretches
    and stall the reflex path. Requests that arrive while a batch is being computed only grow
    the window; the next batch answers the latest window (System 2 may lag, never block).
    """

    def __init__(
        self,
        source: HypothesisSource,
        on_batch: Callable[[HypothesisBatch], None],
        *,
        clock: Clock,
        window: int = 64,
    ) -> None:
        self._source = source
        self._clock = clock
        self._started = 0.0
        self._on_batch = on_batch
        self._window: deque[Stimulus] = deque(maxlen=window)
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._in_flight: Future[HypothesisBatch] | None = None
        self._fresh = False
        self._lock = threading.Lock()
        self.failures = 0
        self.last_error: str | None = None

    def offer(self, stimulus: Stimulus) -> bool:
        """Add a stimulus to the window; start a batch unless one is running. Never blocks."""
        with self._lock:
            self._window.append(stimulus)
            self._fresh = True
            if self._in_flight is None and len(self._window) >= self._source.min_window:
                self._submit_locked()
        return True

    def _submit_locked(self) -> None:
        self._fresh = False
        self._started = self._clock.monotonic()
        future = self._pool.submit(self._source.hypothesise, list(self._window))
        self._in_flight = future
        future.add_done_callback(self._done)

    def _done(self, future: Future[HypothesisBatch]) -> None:
        try:
            latency = self._clock.monotonic() - self._started
            self._on_batch(future.result().model_copy(update={"latency_s": latency}))
        except Exception as exc:  # a failing model must not stop the runtime; it is reported
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._in_flight = None
            if self._fresh:
                self._submit_locked()

    def close(self) -> None:
        """Let the running batch finish (its result is still delivered), then stop."""
        with self._lock:
            self._fresh = False
            running = self._in_flight
        if running is not None:
            wait([running])
        self._pool.shutdown(wait=True, cancel_futures=True)


class Teacher:
    """Learns labelled reflexes in batches, off the reflex path (one durable write per batch)."""

    def __init__(self, reflexes: ReflexMemory, confidence: float, *, batch: int = 256) -> None:
        self._reflexes = reflexes
        self._confidence = confidence
        self._batch = batch
        self._lessons: queue.Queue[tuple[np.ndarray, str] | None] = queue.Queue()
        self.learned = 0
        self._thread = threading.Thread(target=self._serve, name="emily-teacher", daemon=True)
        self._thread.start()

    def teach(self, vector: np.ndarray, label: str) -> None:
        self._lessons.put((vector, label))

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._lessons.get()
            lessons = [] if first is None else [first]
            stopping = first is None
            while len(lessons) < self._batch and not self._lessons.empty():
                item = self._lessons.get_nowait()
                if item is None:
                    stopping = True
                    break
                lessons.append(item)
            if lessons:
                vectors, labels = zip(*lessons, strict=True)
                self._reflexes.learn_many(
                    list(vectors), list(labels), [self._confidence] * len(lessons)
                )
                self.learned += len(lessons)

    def close(self, timeout_s: float = 30.0) -> None:
        """Learn what is queued, then stop the thread."""
        self._lessons.put(None)
        self._thread.join(timeout_s)


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
    ) -> None:
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
        self.teacher = Teacher(reflexes, learn_confidence)
        self._states = [str(s) for s in type(regulator.state)]
        regulator.add_listener(lambda t: self.metrics.set_state(str(t.to_state), self._states))
        self.metrics.set_state(str(regulator.state), self._states)

    def handle(self, stimulus: Stimulus) -> Answer:
        """Answer one stimulus on the reflex path (cognition, if any, runs later)."""
        start = self.clock.monotonic()
        gain = float(self.attention.gate(np.array([stimulus.salience])).gain[0])
        route = self.regulator.route(gain)
        gated = self.clock.monotonic()
        self.metrics.tier_latency.labels(tier=Tier.NERVOUS_SYSTEM).observe(gated - start)
        if route is Route.SUPPRESS:
            self.metrics.gate_signals.labels(outcome="suppressed").inc()
            return self._finish(stimulus, start, gain, route, None, offered=False)
        self.metrics.gate_signals.labels(outcome="passed").inc()

        vector = self.encoder.encode(stimulus.payload)
        result = self.reflexes.lookup(vector)
        hit = result if isinstance(result, ReflexHit) else None
        self.metrics.reflex_lookups.labels(result="hit" if hit else "miss").inc()
        if hit is not None and stimulus.label is not None:
            with self._lock:
                self.tiers["labelled_hits"] += 1
                self.tiers["correct_hits"] += hit.response == stimulus.label
        self.metrics.tier_latency.labels(tier=Tier.INSTINCT).observe(self.clock.monotonic() - gated)

        offered = False
        unsure = hit is None or hit.similarity < UNSURE_BELOW
        if unsure and route is Route.REFLEX_THEN_COGNITION and self.cognition is not None:
            offered = self.cognition.offer(stimulus)
        answer = self._finish(stimulus, start, gain, route, hit, offered=offered)
        if self._teach(stimulus, vector, hit):  # after the answer: learning is not answering
            answer = answer.model_copy(update={"learned": True})
        return answer

    def _teach(self, stimulus: Stimulus, vector: np.ndarray, hit: ReflexHit | None) -> bool:
        if stimulus.label is None or (hit is not None and hit.response == stimulus.label):
            return False
        self.teacher.teach(vector, stimulus.label)
        return True

    def _finish(
        self,
        stimulus: Stimulus,
        start: float,
        gain: float,
        route: Route,
        hit: ReflexHit | None,
        *,
        offered: bool,
    ) -> Answer:
        latency = self.clock.monotonic() - start
        self.regulator.report_latency(latency)
        tier: Literal["instinct", "none", "suppressed"] = (
            "suppressed" if route is Route.SUPPRESS else "instinct" if hit else "none"
        )
        with self._lock:
            self.tiers[tier] += 1
            self.latencies.append(latency)
        return Answer(
            stimulus_id=stimulus.id,
            route=route,
            state=str(self.regulator.state),
            gain=gain,
            tier=tier,
            response=hit.response if hit else None,
            similarity=hit.similarity if hit else None,
            latency_s=latency,
            cognition_offered=offered,
            learned=False,
        )

    def _receive(self, batch: HypothesisBatch) -> None:
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

    def close(self) -> None:
        """Finish background work (queued lessons and cognition requests)."""
        self.teacher.close()
        if self.cognition is not None:
            self.cognition.close()
