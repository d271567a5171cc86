"""The runtime: the three tiers wired into one loop that answers stimuli, and what serves it.

The loop is ``TriuneRuntime`` (``emily.runtime.loop``). For each stimulus the nervous system
gates it and picks a route, the instinct tier's reflex memory answers in microseconds, and on a
miss the stimulus is offered to cognition, which proposes causal hypotheses on a worker thread so
the answer never waits for it. Answers are written to episodic memory in batches, published on
the bus and counted as Prometheus metrics; labelled stimuli teach new reflexes in the background.
``build_runtime`` (``emily.runtime.builder``) is the composition root: it builds all of this from
the settings, on the embedded engines unless a server is configured. ``emily run`` drives the
loop from a file, standard input or the demo; ``emily serve`` puts it behind an HTTP API.

The modules, by what they are for:

* the loop and its helpers off the reflex path: ``loop``, ``cognition_worker`` and ``structure``
  (hypotheses for a window of stimuli), ``teacher`` (reflexes learned from labels), ``journal``
  (episodes), ``bus`` (Zenoh, with an in-process fallback), ``metrics``;
* stimuli in: ``stimuli`` (JSON lines, CSV, standard input, the demo), ``timeline`` (a replay
  runs on its own time line), ``validate_input`` (a bad line stops the run or is skipped);
* one schema per home for ``emily learn``, ``eval`` and ``run``: ``schema_store``,
  ``reflex_models``, ``evaluation``, ``answers`` (``--out``);
* which cognition model is served: ``champion`` (the registry's champion or a flag's variant),
  ``rollout_serving`` (canary, shadow and A/B rollouts started from the CLI);
* what a person sees: ``display`` (``emily run``'s terminal view), ``emily.runtime.api`` (the
  HTTP API, alert-driven remediation and the offline ``/docs`` and ``/redoc``),
  ``emily.runtime.console`` (the live browser console at ``/``) and ``dashboard`` (the generated
  Grafana dashboard).

Other layers and the CLI import the names below from ``emily.runtime``, never its modules
(``scripts/check_layer_imports.py``); each is imported on first use (PEP 562), so ``emily
--help`` loads neither the loop's engines nor FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.runtime.answers import AnswerTally, AnswerWriter
    from emily.runtime.api import (
        ApiOptions,
        create_app,
        ensure_token,
        log_path,
        read_log,
        token_path,
    )
    from emily.runtime.builder import DEMO_FEATURES, build_runtime, demo_schema
    from emily.runtime.bus import (
        STIMULI_END_KEY,
        STIMULI_KEY,
        BusStimuli,
        ResilientPublisher,
        ZenohBus,
        zenoh_config,
    )
    from emily.runtime.champion import choose_cognition
    from emily.runtime.cognition_worker import discard_prestarted, prestart
    from emily.runtime.console import ConsoleOptions, ConsoleServer, start_console
    from emily.runtime.display import (
        History,
        RunTiming,
        Step,
        loading_view,
        render,
        render_snapshot,
        snapshot_of,
    )
    from emily.runtime.evaluation import EvalReport, plot, score
    from emily.runtime.journal import JournalStatus
    from emily.runtime.loop import Learning, TriuneRuntime
    from emily.runtime.model_names import DEFAULT_MODEL
    from emily.runtime.reflex_models import (
        UNCALIBRATED_THRESHOLD,
        ReflexModelCard,
        ReflexModels,
        table_for,
    )
    from emily.runtime.rollout_serving import attach_rollouts
    from emily.runtime.schema_store import (
        ConformStats,
        HomeSchema,
        SchemaStore,
        conform,
        infer_home_schema,
    )
    from emily.runtime.stimuli import (
        LABEL,
        Scanned,
        Stimulus,
        demo_dataset,
        demo_stream,
        read_path,
        scan_csv,
        scan_jsonl,
        scan_path,
        stimuli_of,
        text_lines,
    )
    from emily.runtime.structure import NO_MODEL_SAMPLER
    from emily.runtime.timeline import StreamTimeline
    from emily.runtime.validate_input import InputPolicy, accepted, consistent, default_rejects_path

_HOMES = {
    "emily.runtime.answers": ("AnswerTally", "AnswerWriter"),
    "emily.runtime.api": (
        "ApiOptions", "create_app", "ensure_token", "log_path", "read_log", "token_path",
    ),
    "emily.runtime.builder": ("DEMO_FEATURES", "build_runtime", "demo_schema"),
    "emily.runtime.bus": (
        "BusStimuli", "ResilientPublisher", "STIMULI_END_KEY", "STIMULI_KEY", "ZenohBus",
        "zenoh_config",
    ),
    "emily.runtime.champion": ("choose_cognition",),
    "emily.runtime.cognition_worker": ("discard_prestarted", "prestart"),
    "emily.runtime.console": ("ConsoleOptions", "ConsoleServer", "start_console"),
    "emily.runtime.display": (
        "History", "RunTiming", "Step", "loading_view", "render", "render_snapshot", "snapshot_of",
    ),
    "emily.runtime.evaluation": ("EvalReport", "plot", "score"),
    "emily.runtime.journal": ("JournalStatus",),
    "emily.runtime.loop": ("Learning", "TriuneRuntime"),
    "emily.runtime.model_names": ("DEFAULT_MODEL",),
    "emily.runtime.reflex_models": (
        "ReflexModelCard", "ReflexModels", "UNCALIBRATED_THRESHOLD", "table_for",
    ),
    "emily.runtime.rollout_serving": ("attach_rollouts",),
    "emily.runtime.schema_store": (
        "ConformStats", "HomeSchema", "SchemaStore", "conform", "infer_home_schema",
    ),
    "emily.runtime.stimuli": (
        "LABEL", "Scanned", "Stimulus", "demo_dataset", "demo_stream", "read_path", "scan_csv",
        "scan_jsonl", "scan_path", "stimuli_of", "text_lines",
    ),
    "emily.runtime.structure": ("NO_MODEL_SAMPLER",),
    "emily.runtime.timeline": ("StreamTimeline",),
    "emily.runtime.validate_input": (
        "InputPolicy", "accepted", "consistent", "default_rejects_path",
    ),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "DEFAULT_MODEL",
    "DEMO_FEATURES",
    "LABEL",
    "NO_MODEL_SAMPLER",
    "STIMULI_END_KEY",
    "STIMULI_KEY",
    "UNCALIBRATED_THRESHOLD",
    "AnswerTally",
    "AnswerWriter",
    "ApiOptions",
    "BusStimuli",
    "ConformStats",
    "ConsoleOptions",
    "ConsoleServer",
    "EvalReport",
    "History",
    "HomeSchema",
    "InputPolicy",
    "JournalStatus",
    "Learning",
    "ReflexModelCard",
    "ReflexModels",
    "ResilientPublisher",
    "RunTiming",
    "Scanned",
    "SchemaStore",
    "Step",
    "Stimulus",
    "StreamTimeline",
    "TriuneRuntime",
    "ZenohBus",
    "accepted",
    "attach_rollouts",
    "build_runtime",
    "choose_cognition",
    "conform",
    "consistent",
    "create_app",
    "default_rejects_path",
    "demo_dataset",
    "demo_schema",
    "demo_stream",
    "discard_prestarted",
    "ensure_token",
    "infer_home_schema",
    "loading_view",
    "log_path",
    "plot",
    "prestart",
    "read_log",
    "read_path",
    "render",
    "render_snapshot",
    "scan_csv",
    "scan_jsonl",
    "scan_path",
    "score",
    "snapshot_of",
    "start_console",
    "stimuli_of",
    "table_for",
    "text_lines",
    "token_path",
    "zenoh_config",
]
