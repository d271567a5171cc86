"""The composition root: build a ``TriuneRuntime`` from settings on the embedded defaults."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from emily.core import Clock, system_clock
from emily.core.settings import EmilySettings
from emily.instinct import (
    REFLEX_TABLE,
    LanceDBReflexStore,
    NumericFeature,
    ReflexMemory,
    StimulusEncoder,
    StimulusSchema,
)
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.bus import RuntimeBus, ZenohBus
from emily.runtime.journal import EpisodeJournal, ProcessEpisodic
from emily.runtime.loop import Learning, TriuneRuntime
from emily.runtime.metrics import RuntimeMetrics
from emily.runtime.reflex_models import UNCALIBRATED_THRESHOLD
from emily.runtime.schema_store import HomeSchema, conform
from emily.runtime.stimuli import DemoDataset
from emily.runtime.structure import CausalStructureSource, CognitionModel

JOURNAL_FILE = "outbox.sqlite3"
"""The journal's durable spill, under ``EMILY_HOME/journal``."""

DEMO_FEATURES = ("alcohol", "flavanoids", "color_intensity", "hue")
"""Wine measurements the demo's cognition models: four give 543 DAGs, fast to sample."""


def demo_schema(dataset: DemoDataset) -> StimulusSchema:
    """Level-encode every wine measurement over its observed range."""
    return StimulusSchema(
        features={
            name: NumericFeature(low=low, high=high, levels=32)
            for name, low, high in zip(
                dataset.feature_names, dataset.low, dataset.high, strict=True
            )
        }
    )


def build_runtime(
    settings: EmilySettings,
    schema: StimulusSchema | None,
    *,
    table: str = REFLEX_TABLE,
    cognition_features: Sequence[str] | None = None,
    clock: Clock | None = None,
    metrics: RuntimeMetrics | None = None,
    cognition_model: CognitionModel | None = None,
    cognition_variant: str = "v1",
    journal: bool = False,
    bus: ZenohBus | None = None,
    stream_clock: Clock | None = None,
    gate: bool = True,
    learning: Learning = "background",
    threshold: float | None = None,
    home_schema: HomeSchema | None = None,
) -> TriuneRuntime:
    """A runtime whose reflexes persist in ``EMILY_HOME/lancedb`` (table ``table``).

    Cognition (when ``cognition_features`` are given) warm-starts from ``cognition_model``
    (see ``emily.runtime.champion``) or trains variant ``cognition_variant`` from scratch.
    With ``journal``, every answer is journaled to episodic memory (see ``runtime.journal``);
    with ``bus``, answers and hypotheses are published on it (see ``RuntimeBus``); the bus
    session itself stays the caller's to close.

    ``stream_clock`` (a replayed file's ``StreamClock``) drives the oscillator and the
    regulator, and then latency no longer steers routes (see ``runtime.timeline``).
    ``threshold`` is the reflex memory's hit threshold (the home's calibrated one).
    ``home_schema`` makes the runtime conform live stimuli to it (``TriuneRuntime.conform``).
    """
    clock = clock or system_clock()
    encoder = StimulusEncoder(schema, dim=settings.hdc_dim, seed=settings.seed)
    store = LanceDBReflexStore(
        settings.lancedb_uri or settings.path("lancedb"), settings.hdc_dim, table_name=table
    )
    reflexes = ReflexMemory(
        settings.hdc_dim,
        store=store,
        encoder=encoder,
        clock=clock,
        threshold=UNCALIBRATED_THRESHOLD if threshold is None else threshold,
    )
    rhythm = stream_clock or clock
    attention = AlphaOscillatoryAttention(settings.alpha_frequency_hz, clock=rhythm)
    if stream_clock is not None:  # a stream's onset resets the phase: its first stimulus passes
        attention.reset_phase(stream_clock.monotonic())
    regulator = Regulator(
        RegulatorConfig(latency_budget_s=settings.latency_budget_ms / 1e3), clock=rhythm
    )
    cognition = (
        CausalStructureSource(
            cognition_features,
            seed=settings.seed,
            model=cognition_model,
            variant=cognition_variant,
        )
        if cognition_features
        else None
    )
    metrics = metrics or RuntimeMetrics()
    closers: list[Callable[[], None]] = []
    episode_journal = None
    if journal:
        sink = ProcessEpisodic(settings)
        episode_journal = EpisodeJournal(
            sink,
            settings.path("journal", JOURNAL_FILE),
            regulator=regulator,
            registry=metrics.registry,
            clock=clock,
        )
        closers.append(sink.close)
    runtime_bus = None
    if bus is not None:
        runtime_bus = RuntimeBus(
            bus, regulator=regulator, on_health=lambda up: metrics.bus_up.set(float(up))
        )
    runtime = TriuneRuntime(
        encoder=encoder,
        reflexes=reflexes,
        attention=attention,
        regulator=regulator,
        metrics=metrics,
        cognition=cognition,
        clock=clock,
        journal=episode_journal,
        bus=runtime_bus,
        on_close=closers,
        gate=gate,
        learning=learning,
        latency_steers=stream_clock is None,
    )
    if home_schema is not None:
        runtime.conform = lambda stimulus: conform(stimulus, home_schema).stimulus
    return runtime
