"""``emily learn`` and ``emily eval``: teach reflexes from a labelled file, then score a file.

Learning and evaluating are separate, explicit steps (the live loop, ``emily run``, also learns
as it goes, but through the alpha gate and on its own schedule). Neither goes through the gate
or cognition: ``learn`` stores what it is shown, ``eval`` answers every stimulus with learning
off, so the figures say what the instinct tier knows, not what the oscillator let through.

NumPy, LanceDB and the instinct tier are imported by the commands when they run: ``emily
--help`` imports this module only for the options (issue #19 item 3).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emily.cli._option_defaults import DEFAULT_PER_CLASS, ModelKind
from emily.core import InputError, system_clock

if TYPE_CHECKING:
    import numpy as np

    from emily.core.settings import EmilySettings
    from emily.instinct import PrototypeTrainer, ReflexHit, ReflexMemory
    from emily.runtime import EvalReport, HomeSchema, ReflexModelCard, Stimulus

LEARN_CHUNK = 2_048
CALIBRATION_SAMPLE = 10_000
"""Stored exemplars the threshold is calibrated on, at most (a seeded sample above it)."""
NEAREST = 0.5 + 1e-9
"""A threshold just above chance: every lookup returns its nearest reflex, which ``eval``
then judges against the calibrated threshold itself (so it can score misses' nearest labels)."""

ModelOption = Annotated[
    ModelKind,
    typer.Option(
        "--model",
        help="exemplar: every labelled stimulus is a reflex (nearest neighbour); prototype: a "
        "few retrained prototypes per class (OnlineHD-style, bounded memory).",
    ),
]
LabelOption = Annotated[
    str | None,
    typer.Option(
        "--label", help="Column (CSV) or key (JSONL) holding the label (default: the schema's)."
    ),
]
SchemaOption = Annotated[
    Path | None,
    typer.Option(
        "--schema", help="A schema JSON (`emily schema show --json`) to use instead of inferring."
    ),
]


def _memory(
    settings: EmilySettings, schema: HomeSchema, kind: ModelKind, threshold: float
) -> ReflexMemory:
    from emily.cli._home_data import encoder_for
    from emily.instinct import LanceDBReflexStore, ReflexMemory
    from emily.runtime import table_for

    store = LanceDBReflexStore(
        settings.lancedb_uri or settings.path("lancedb"),
        settings.hdc_dim,
        table_name=table_for(schema, kind),
    )
    return ReflexMemory(
        settings.hdc_dim,
        store=store,
        encoder=encoder_for(settings, schema),
        threshold=threshold,
        half_life_s=None,
    )


def _labelled(
    stimuli: list[Stimulus], file: Path, schema: HomeSchema, label: str | None
) -> list[Stimulus]:
    labelled = [s for s in stimuli if s.label is not None]
    if not labelled:
        column = label or schema.label_column
        raise InputError(
            f"{file}: none of its {len(stimuli):,} stimuli has a {column!r} label; expected a "
            "label column (name it with --label COL, e.g. --label target)"
        )
    return labelled


def learn(
    file: Annotated[Path, typer.Argument(help="A labelled .csv or .jsonl file of stimuli.")],
    model: ModelOption = "exemplar",
    label: LabelOption = None,
    schema_file: SchemaOption = None,
    per_class: Annotated[
        int, typer.Option(min=1, max=64, help="Prototypes per class (--model prototype).")
    ] = DEFAULT_PER_CLASS,
    epochs: Annotated[
        int, typer.Option(min=0, help="Retraining passes over the file (--model prototype).")
    ] = 20,
    target_miss_rate: Annotated[
        float,
        typer.Option(
            min=0.001,
            max=0.5,
            help="Share of known stimuli allowed to miss: sets the calibrated hit threshold.",
        ),
    ] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary last.")] = False,
) -> None:
    """Teach reflexes from FILE's labelled stimuli (no alpha gate, no cognition).

    The first file fixes the home's schema (or use `emily schema infer` / --schema). Learning
    is idempotent: the same stimulus learned twice is one reflex. Afterwards the hit threshold
    is calibrated on FILE (conformal: about --target-miss-rate of known stimuli miss), so that a
    miss means "novel" and escalates to cognition. Then score with `emily eval TEST_FILE`.
    """
    from emily.cli._home_data import conformed, encode_all, encoder_for, resolve_schema
    from emily.core.settings import load_settings
    from emily.instinct import calibrate_prototype_threshold, calibrate_threshold
    from emily.runtime import (
        UNCALIBRATED_THRESHOLD,
        ConformStats,
        ReflexModelCard,
        ReflexModels,
        SchemaStore,
        table_for,
    )

    console = Console(stderr=as_json)  # with --json, stdout holds only the JSON line
    settings = load_settings()
    clock = system_clock()
    schema = resolve_schema(
        settings,
        file,
        label=label,
        schema_file=schema_file,
        clock=clock,
        console=console,
        require_labels=True,
    )
    stats = ConformStats()
    stimuli = list(conformed(file, schema, stats, label=label))
    labelled = _labelled(stimuli, file, schema, label)
    labels = [str(s.label) for s in labelled]
    encoder = encoder_for(settings, schema)
    vectors = encode_all(encoder, labelled, console, "encoding")
    started = clock.monotonic()
    models = ReflexModels(settings.home)
    previous = models.get(schema, model)
    memory = _memory(
        settings, schema, model, previous.threshold if previous else UNCALIBRATED_THRESHOLD
    )
    prototypes: int | None = None
    bytes_per_class: float | None = None
    if model == "exemplar":
        memory.learn_many(vectors, labels, [1.0] * len(labels))
        known, names = _stored_sample(memory, settings.seed)
        calibration = (
            calibrate_threshold(known, names, settings.hdc_dim, target_miss_rate=target_miss_rate)
            if len(names) >= 2
            else None  # one stimulus has no neighbour to measure "near" by: only itself hits
        )
    else:
        trainer = _fit_prototypes(settings, schema, memory, vectors, labels, per_class, epochs)
        prototypes, bytes_per_class = len(memory), float(trainer.bytes_per_class)
        calibration = (
            calibrate_prototype_threshold(
                vectors, labels, trainer, target_miss_rate=target_miss_rate
            )
            if len(labels) >= 2
            else None  # nothing to hold out: the prototype is the stimulus
        )
    threshold = calibration.threshold if calibration is not None else 1.0
    seconds = clock.monotonic() - started
    classes = sorted(set(labels) | set(previous.classes if previous else ()))
    card = ReflexModelCard(
        schema_name=schema.name,
        schema_version=schema.version,
        kind=model,
        table=table_for(schema, model),
        threshold=threshold,
        calibration=calibration,
        prototypes=prototypes,
        bytes_per_class=bytes_per_class,
        classes=tuple(classes),
        learned_from=tuple(
            dict.fromkeys([*(previous.learned_from if previous else ()), str(file)])
        ),
        reflexes=len(memory),
        updated_at=clock.now(),
    )
    models.save(card, schema)
    SchemaStore(settings.home).save(
        schema.with_calibration(threshold, {"model": model, "target_miss_rate": target_miss_rate})
    )
    summary = {
        "file": str(file),
        "model": model,
        "schema": f"{schema.name} v{schema.version}",
        "stimuli": len(stimuli),
        "labelled": len(labelled),
        "unlabelled_skipped": len(stimuli) - len(labelled),
        "classes": len(classes),
        "reflexes": len(memory),
        "threshold": threshold,
        "target_miss_rate": target_miss_rate,
        "learn_s": seconds,
        "conform": stats.as_dict(),
    }
    console.print(
        f"[green]learned[/green] {len(labelled):,} labelled stimuli of {len(classes)} classes "
        f"from {escape(str(file))} as {model} reflexes: {len(memory):,} reflexes in table "
        f"{card.table} ({seconds:.2f} s)"
    )
    if len(stimuli) > len(labelled):
        console.print(f"skipped {len(stimuli) - len(labelled):,} unlabelled stimuli")
    console.print(f"conform: {stats.summary()}")
    console.print(
        f"hit threshold calibrated to {threshold:.4f} (about {target_miss_rate:.0%} of known "
        "stimuli may miss; a miss means novel → cognition)"
    )
    if as_json:
        typer.echo(json.dumps(summary))


def _stored_sample(memory: ReflexMemory, seed: int) -> tuple[np.ndarray, list[str]]:
    """Every stored exemplar (vectors, responses), or a seeded sample of ``CALIBRATION_SAMPLE``
    of them: the threshold describes the whole memory, not only the latest file, and the
    leave-one-out scores cost ``O(n^2 D)``."""
    import numpy as np

    rows = memory.store.load()
    if len(rows) > CALIBRATION_SAMPLE:
        picked = np.random.default_rng(seed).choice(len(rows), CALIBRATION_SAMPLE, replace=False)
        rows = [rows[i] for i in sorted(picked)]
    width = memory.dim // 8
    vectors = np.frombuffer(b"".join(r.vector for r in rows), np.uint8).reshape(-1, width)
    return vectors, [r.response for r in rows]


def _fit_prototypes(
    settings: EmilySettings,
    schema: HomeSchema,
    memory: ReflexMemory,
    vectors: np.ndarray,
    labels: list[str],
    per_class: int,
    epochs: int,
) -> PrototypeTrainer:
    """Fit (or go on fitting, from the saved state) the prototypes; store them as the table's
    reflexes (and forget prototypes the trainer no longer has)."""
    import numpy as np

    from emily.instinct import PrototypeTrainer

    state_path = settings.home / "models" / "reflex" / f"{schema.name}.v{schema.version}.npz"
    if state_path.is_file():
        with np.load(state_path, allow_pickle=False) as saved:
            trainer = PrototypeTrainer.from_state({k: saved[k] for k in saved.files})
        trainer.partial_fit(vectors, labels)
    else:
        trainer = PrototypeTrainer(
            settings.hdc_dim, per_class=per_class, epochs=epochs, seed=settings.seed
        ).fit(vectors, labels)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_path.with_suffix(".tmp.npz")
    arrays: dict[str, Any] = dict(trainer.state())
    np.savez(tmp, **arrays)
    tmp.replace(state_path)
    prototypes = trainer.prototypes()
    ids = [rid for rid, _, _ in prototypes]
    memory.learn_many(
        np.stack([v for _, _, v in prototypes]),
        [lab for _, lab, _ in prototypes],
        [1.0] * len(prototypes),
        ids,
    )
    for stale in set(memory.ids()) - set(ids):
        memory.forget(stale)
    return trainer


def _nearest(memory: ReflexMemory, vectors: np.ndarray) -> list[ReflexHit | None]:
    """Each row's nearest reflex (``None`` when nothing is even at chance); ``memory`` is
    opened at the ``NEAREST`` threshold, so every lookup returns its nearest reflex."""
    from emily.instinct import ReflexHit

    found: list[ReflexHit | None] = []
    for start in range(0, len(vectors), LEARN_CHUNK):
        batch = memory.lookup_batch(vectors[start : start + LEARN_CHUNK])
        found.extend(r if isinstance(r, ReflexHit) else None for r in batch)
    return found


def _similarity(result: ReflexHit | None) -> float:
    return result.similarity if result is not None else 0.0


def evaluate(
    file: Annotated[Path, typer.Argument(help="A labelled .csv or .jsonl file to score.")],
    model: Annotated[
        ModelKind | None,
        typer.Option("--model", help="Which learned model to score (default: the latest)."),
    ] = None,
    label: LabelOption = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.5, max=1.0, help="Override the calibrated hit threshold."),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write one JSON answer per stimulus (input order) here."),
    ] = None,
    plot_file: Annotated[
        Path | None,
        typer.Option("--plot", help="Save a PNG: confusion matrix and similarity histogram."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary last.")] = False,
) -> None:
    """Score the learned reflexes on FILE with learning off (no gate, no cognition).

    Every labelled stimulus gets its nearest reflex's label (accuracy, per class, confusion
    matrix) and is a hit when the similarity reaches the calibrated threshold, else a miss
    (novel: the live loop escalates it). Labels never learned count as novel classes:
    then known-hit and novel-miss rates and the novelty AUROC say whether a miss means novel.
    """
    from emily.cli._home_data import conformed, encode_all, encoder_for, resolve_schema
    from emily.core.settings import load_settings
    from emily.runtime import ConformStats, ReflexModels, plot, score

    console = Console(stderr=as_json)  # with --json, stdout holds only the JSON line
    check_output(out_file, "--out")
    check_output(plot_file, "--plot")
    settings = load_settings()
    clock = system_clock()
    schema = resolve_schema(
        settings, None, label=label, schema_file=None, clock=clock, console=console
    )
    card = ReflexModels(settings.home).active(schema, model)
    if card is None:
        which = f"{model} " if model else ""
        raise InputError(
            f"no {which}reflexes learned under schema {schema.name} v{schema.version}; expected "
            f"a learned model: run `emily learn TRAIN_FILE{' --model ' + model if model else ''}`"
        )
    stats = ConformStats()
    stimuli = list(conformed(file, schema, stats, label=label))
    if not any(s.label is not None for s in stimuli):
        _labelled(stimuli, file, schema, label)
    vectors = encode_all(encoder_for(settings, schema), stimuli, console, "encoding")
    memory = _memory(settings, schema, card.kind, NEAREST)
    nearest = _nearest(memory, vectors)
    cut = card.threshold if threshold is None else threshold
    sims = [_similarity(r) for r in nearest]
    rows = [(s, r, sim) for s, r, sim in zip(stimuli, nearest, sims, strict=True)]
    scored = [(str(s.label), r.response if r else None, sim) for s, r, sim in rows if s.label]
    report = score(
        [t for t, _, _ in scored],
        [p for _, p, _ in scored],
        [x for _, _, x in scored],
        cut,
        card.classes,
    )
    if out_file is not None:
        with _writing(out_file, "--out"):
            _write_answers(out_file, rows, cut)
    if plot_file is not None:
        with _writing(plot_file, "--plot"):
            plot(
                report,
                [t for t, _, _ in scored],
                [x for _, _, x in scored],
                plot_file,
                f"{file.name}: {card.kind} reflexes of {schema.name} v{schema.version}",
            )
    _print_report(console, report, card, len(memory), file, stats.summary())
    if plot_file is not None:
        console.print(f"plot: {escape(str(plot_file))}")
    if as_json:
        typer.echo(json.dumps({"file": str(file), "model": card.kind, **report.model_dump()}))


def check_output(path: Path | None, option: str) -> None:
    """Refuse an output path that cannot become a file before scoring, not after: a folder, or
    a path under a file."""
    if path is None:
        return
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder; expected a file path to write")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(
            f"{option} {path} cannot be written: {ancestor} is a file, not a folder; expected "
            "a file path in a folder"
        )


@contextmanager
def _writing(path: Path, option: str) -> Iterator[None]:
    """Turn a failed write of ``path`` (permissions, a full disk) into one line naming it."""
    try:
        yield
    except OSError as exc:
        raise InputError(
            f"{option} {path} cannot be written ({exc.strerror or exc}); expected a writable path"
        ) from None


def _write_answers(
    path: Path, rows: list[tuple[Stimulus, ReflexHit | None, float]], threshold: float
) -> None:
    """One JSON object per stimulus, in input order (the fields of ``emily run --out``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for stimulus, nearest, sim in rows:
            hit = nearest is not None and sim >= threshold
            record = {
                "id": stimulus.id,
                "route": "reflex_only",
                "tier": "instinct" if hit else "none",
                "response": nearest.response if hit and nearest else None,
                "nearest": nearest.response if nearest else None,
                "similarity": sim,
                "hit": hit,
                "gain": 1.0,
                "learned": False,
                "label": stimulus.label,
                "correct": None
                if stimulus.label is None
                else (nearest is not None and nearest.response == stimulus.label),
            }
            handle.write(json.dumps(record) + "\n")


def _print_report(
    console: Console,
    report: EvalReport,
    card: ReflexModelCard,
    stored: int,
    file: Path,
    conform: str,
) -> None:
    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.1%}"

    console.print(
        f"[bold]{escape(str(file))}[/bold]: {report.n:,} labelled stimuli, {card.kind} "
        f"reflexes ({stored:,}), hit threshold {report.threshold:.4f}"
    )
    console.print(f"conform: {conform}")
    figures = Table(show_header=False)
    figures.add_row("accuracy (nearest reflex)", pct(report.accuracy))
    figures.add_row("hit rate", pct(report.hit_rate))
    figures.add_row("miss rate (escalated to cognition)", pct(report.miss_rate))
    figures.add_row("accuracy of hits", pct(report.hit_accuracy))
    if report.novel:
        figures.add_row("novel-class stimuli (labels never learned)", f"{report.novel:,}")
        figures.add_row("known classes that hit", pct(report.known_hit_rate))
        figures.add_row("novel classes that miss", pct(report.novel_miss_rate))
        auroc = report.novelty_auroc
        figures.add_row("novelty AUROC", "–" if auroc is None else f"{auroc:.3f}")
    console.print(figures)
    classes = Table(title="per class")
    for column in ("label", "support", "precision", "recall", "f1", "hit rate"):
        classes.add_column(column, justify="left" if column == "label" else "right")
    for name, fig in report.per_class.items():
        classes.add_row(
            escape(name),
            f"{fig.support:,}",
            pct(fig.precision),
            pct(fig.recall),
            pct(fig.f1),
            pct(fig.hit_rate),
        )
    console.print(classes)
    if len(report.confusion_labels) <= 12:
        matrix = Table(title="confusion")
        matrix.add_column("label \\ nearest")
        for name in report.confusion_labels:
            matrix.add_column(escape(name) or "(none)", justify="right")
        for name, row in zip(report.confusion_labels, report.confusion, strict=True):
            matrix.add_row(escape(name), *(str(v) for v in row))
        console.print(matrix)


def register_learn_eval_commands(app: typer.Typer) -> None:
    """Add ``emily learn`` and ``emily eval`` to the CLI."""
    app.command(name="learn")(learn)
    app.command(name="eval")(evaluate)
