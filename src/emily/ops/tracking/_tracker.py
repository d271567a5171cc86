"""``MlflowTracker``: one MLflow run around any trainer, fed by a per-step metrics callback.

Why a callback and not MLflow calls inside the trainer: the cognition tier stays free of MLflow
(it is tested without a store), and any trainer that calls ``callback(step, metrics)`` is tracked
the same way. Timestamps come from the injected clock (the temporal lock), so a replay with a
``ManualClock`` logs the same run. The model is stored as a ``torch`` state dict, loaded back
with ``weights_only=True``: no pickled code runs when the runtime loads a champion. A caller
that knows a better form passes its own ``log_model`` to ``track_training``: ``emily train``
logs its GFlowNet as an MLflow Model that way (the registry's code, which imports this module,
so tracking cannot call it itself).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from emily.core import Clock, EmilyError, InputError, SovereignModel, system_clock
from emily.ops.tracking._config import (
    DEFAULT_EXPERIMENT,
    TrackingConfig,
    ensure_experiment,
    make_client,
    run_url,
    tracking_config,
)
from emily.ops.tracking._plots import hypothesis_distribution_figure, loss_curve_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow import MlflowClient

MetricsCallback = Callable[[int, dict[str, float]], None]
"""What a trainer calls after each step: ``callback(step, {"loss": ..., "log_z": ...})``."""
ModelLogger = Callable[["MlflowTracker", Any], str]
"""How ``track_training`` stores the trained model: ``log_model(tracker, model) -> model URI``,
inside the run (``tracker.client``, ``tracker.run_id``). Default: ``MlflowTracker.log_model``."""

MODEL_ARTIFACT = "model"
STATE_DICT_FILE = "state_dict.pt"
CHECKPOINT_FILE = "checkpoint.pt"
MODEL_META_FILE = "emily_model.json"


@dataclass(frozen=True)
class TrainingOutput:
    """What a trainer hands back to ``track_training``.

    Attributes:
        model: A ``torch.nn.Module``, a state dict or an object with ``save(path)``, logged as
            the run's model; or ``None``.
        hypotheses: Samples drawn from the trained model, plotted as its distribution.
        target: The distribution the model should match, where known (hypothesis ->
            probability, with the same labels as ``hypotheses``), drawn over the samples.
        target_name: What the target is (``exact``, ``MCMC reference``), for the legend.
    """

    model: Any = None
    hypotheses: Sequence[Hashable] = field(default_factory=tuple)
    target: Mapping[Hashable, float] | None = None
    target_name: str = "target"


class TrackingUnavailableError(EmilyError):
    """The tracking store stopped answering; what was logged before the outage is kept."""


def _store_down(exc: BaseException) -> bool:
    """Whether ``exc`` means the tracking store is unreachable (not a bug in the caller)."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError | DBAPIError | ConnectionError | TimeoutError):
        return True
    text = str(exc)
    return isinstance(exc, MlflowException) and any(
        marker in text for marker in ("OperationalError", "connection", "Connection refused")
    )


class TrackedRun(SovereignModel):
    """The outcome of a tracked training: where to find it and its final metrics.

    Attributes:
        run_name: The name the MLflow UI lists the run under.
        url: The run's page in the MLflow UI (for an embedded store: once ``emily ui`` runs).
    """

    run_id: str
    experiment_id: str
    metrics: dict[str, float]
    model_uri: str | None
    run_name: str = ""
    url: str = ""


class MlflowTracker:
    """Context manager owning one MLflow run.

    Example:
        >>> with MlflowTracker(params={"lr": 1e-3}) as tracker:  # doctest: +SKIP
        ...     model = train(callback=tracker.callback)
        ...     tracker.log_model(model)
        ...     tracker.log_plots(hypotheses=model.generate(1000))
    """

    def __init__(
        self,
        *,
        experiment: str = DEFAULT_EXPERIMENT,
        run_name: str | None = None,
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
        config: TrackingConfig | None = None,
        client: MlflowClient | None = None,
        clock: Clock | None = None,
        unique_name: bool = False,
    ) -> None:
        self.config = config or tracking_config()
        self.client = client or make_client(self.config)
        self.experiment = experiment
        self.run_name = run_name
        self._unique_name = unique_name
        self._params = dict(params or {})
        self._tags = dict(tags or {})
        self._clock = clock or system_clock()
        self._run_id: str | None = None
        self._experiment_id: str | None = None
        self._history: dict[str, list[tuple[int, float]]] = defaultdict(list)

    @property
    def run_id(self) -> str:
        """The active run's id (only inside the ``with`` block)."""
        if self._run_id is None:
            raise InputError("the tracker has no run: use it as `with MlflowTracker(...) as t:`")
        return self._run_id

    @property
    def experiment_id(self) -> str:
        """The id of the experiment the run belongs to (known once the tracker has started)."""
        if self._experiment_id is None:
            raise InputError("the tracker has not started: use it as `with MlflowTracker(...)`")
        return self._experiment_id

    @property
    def history(self) -> dict[str, list[tuple[int, float]]]:
        """Every metric logged so far, ``name -> [(step, value), ...]``."""
        return {k: list(v) for k, v in self._history.items()}

    def _millis(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def __enter__(self) -> Self:
        self._experiment_id = ensure_experiment(self.client, self.experiment, self.config)
        tags = {"emily.component": "tracking", **self._tags}
        run = self.client.create_run(
            self._experiment_id, start_time=self._millis(), tags=tags, run_name=self.run_name
        )
        self._run_id = run.info.run_id
        if self._unique_name and self.run_name:
            # MLflow ids are known only once the run exists; its first 8 hex digits make the
            # name unique and match the id a researcher sees in the UI's address bar.
            self.run_name = f"{self.run_name}-{self._run_id[:8]}"
            self.client.update_run(self._run_id, name=self.run_name)
        else:
            self.run_name = run.info.run_name
        if self._params:
            self.log_params(self._params)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status = "FINISHED" if exc_type is None else "FAILED"
        try:
            if exc is not None:
                error = f"{type(exc).__name__}: {exc}"[:4000]
                self.client.set_tag(self.run_id, "emily.error", error)
            self.client.set_terminated(self.run_id, status=status, end_time=self._millis())
        except Exception as closing:
            # The store went away: the run stays RUNNING there (nothing can mark it), and the
            # error that matters is the one the block raised, so that one propagates.
            if exc is None or not _store_down(closing):
                raise
        finally:
            self._run_id = None

    def log_params(self, params: Mapping[str, object]) -> None:
        """Log hyper-parameters (values as text, the way MLflow stores them)."""
        from mlflow.entities import Param

        batch = [
            Param(str(k), json.dumps(v) if isinstance(v, dict | list) else str(v))
            for k, v in params.items()
        ]
        self.client.log_batch(self.run_id, params=batch)

    def callback(self, step: int | object, metrics: Mapping[str, float] | None = None) -> None:
        """Log one step's metrics; pass this to any trainer as its metrics callback.

        Accepts ``callback(step, {"loss": ...})`` or a per-step record with a ``step`` field
        (a dataclass such as the GFlowNet's ``StepMetrics``, or a mapping): its numeric fields
        become metrics and ``None`` fields (L1/JSD off evaluation steps) are skipped.
        """
        from mlflow.entities import Metric

        if metrics is None:
            step, metrics = _split_record(step)
        elif not isinstance(step, int):
            raise InputError(f"step must be an int, got {type(step).__name__}")
        at = self._millis()
        batch = []
        for key, value in metrics.items():
            number = float(value)
            if not math.isfinite(number):  # MLflow stores NaN, but plots and tests choke on it
                self.client.set_tag(self.run_id, f"emily.nonfinite.{key}", str(step))
                continue
            batch.append(Metric(key, number, at, step))
            self._history[key].append((step, number))
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def log_model(self, model: Any, artifact_path: str = MODEL_ARTIFACT) -> str:
        """Store the trained model under ``artifact_path`` and return its ``runs:/`` URI.

        A ``torch.nn.Module`` or a state dict is saved as ``state_dict.pt``; an object with a
        ``save(path)`` method (the GFlowNet's own checkpoint) as ``checkpoint.pt``. A small
        ``emily_model.json`` says which, so a loader knows what it downloaded.
        """
        import torch

        with tempfile.TemporaryDirectory(prefix="emily-model-") as tmp:
            folder = Path(tmp) / artifact_path
            folder.mkdir(parents=True)
            if isinstance(model, torch.nn.Module | Mapping):
                state = model.state_dict() if isinstance(model, torch.nn.Module) else model
                torch.save(dict(state), folder / STATE_DICT_FILE)
                meta = {"format": "torch-state-dict", "file": STATE_DICT_FILE}
            elif callable(getattr(model, "save", None)):
                model.save(folder / CHECKPOINT_FILE)
                kind = f"{type(model).__module__}.{type(model).__qualname__}"
                meta = {"format": "checkpoint", "file": CHECKPOINT_FILE, "class": kind}
            else:
                raise InputError(
                    f"cannot log a model of type {type(model).__name__}: expected a "
                    "torch.nn.Module, a state dict, or an object with save(path)"
                )
            (folder / MODEL_META_FILE).write_text(json.dumps(meta), encoding="utf-8")
            self.client.log_artifacts(self.run_id, str(folder), artifact_path)
        return f"runs:/{self.run_id}/{artifact_path}"

    def log_figure(self, figure: Figure, filename: str) -> None:
        """Store a matplotlib figure as a PNG artifact under ``plots/``."""
        self.client.log_figure(self.run_id, figure, f"plots/{filename}")

    def log_plots(
        self,
        hypotheses: Sequence[Hashable] = (),
        target: Mapping[Hashable, float] | None = None,
        target_name: str = "target",
    ) -> None:
        """Log the training curves (one axis per metric, from the callback's history) and the
        hypothesis distribution, drawn against ``target`` where it is known."""
        if self._history:
            self.log_figure(loss_curve_figure(self._history), "loss_curve.png")
        if hypotheses:
            figure = hypothesis_distribution_figure(
                Counter(hypotheses), target=target, target_name=target_name
            )
            self.log_figure(figure, "hypothesis_distribution.png")

    def final_metrics(self) -> dict[str, float]:
        """The last logged value of each metric."""
        return {k: v[-1][1] for k, v in self._history.items() if v}


def _split_record(record: object) -> tuple[int, dict[str, float]]:
    """``(step, numeric fields)`` of a per-step record (dataclass or mapping with ``step``)."""
    if is_dataclass(record) and not isinstance(record, type):
        data = asdict(record)
    elif isinstance(record, Mapping):
        data = dict(record)
    else:
        raise InputError(
            f"a metrics record must be a dataclass or mapping, got {type(record).__name__}"
        )
    step = data.pop("step", None)
    if not isinstance(step, int):
        raise InputError(f"a metrics record needs an int `step` field, got {step!r}")
    numbers = {
        k: float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return step, numbers


def track_training(
    trainer_fn: Callable[[Callable[..., None]], TrainingOutput | Any],
    params: Mapping[str, object],
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    config: TrackingConfig | None = None,
    clock: Clock | None = None,
    unique_name: bool = False,
    log_model: ModelLogger | None = None,
) -> TrackedRun:
    """Run ``trainer_fn(callback)`` inside a tracked run and log its model and plots.

    Args:
        trainer_fn: Trains, calling ``callback(step, metrics)`` each step; returns a
            ``TrainingOutput``, or just the model, or ``None``. The callback also accepts
            per-step records (``callback(step_metrics)``), see ``MlflowTracker.callback``.
        params: Hyper-parameters to log before training starts.
        experiment: MLflow experiment name.
        run_name: Optional human-readable run name.
        unique_name: Append the run id's first 8 hex digits to ``run_name`` (``mdb-dag-1a2b3c4d``),
            so repeated runs of one command are told apart in the UI.
        config: Tracking location (default: from settings).
        clock: Time source for metric timestamps.
        log_model: Stores the model instead of ``MlflowTracker.log_model`` (its loose files),
            e.g. as an MLflow Model; returns the URI to report.

    Returns:
        The run's id, final metrics and model URI. A trainer that raises marks the run FAILED
        and the exception propagates; a store that stops answering raises
        ``TrackingUnavailableError`` (one clear line at the CLI).
    """
    config = config or tracking_config()
    try:
        with MlflowTracker(
            experiment=experiment,
            run_name=run_name,
            params=params,
            config=config,
            clock=clock,
            unique_name=unique_name,
        ) as tracker:
            result = trainer_fn(tracker.callback)
            output = result if isinstance(result, TrainingOutput) else TrainingOutput(model=result)
            store = log_model or MlflowTracker.log_model
            model_uri = None if output.model is None else store(tracker, output.model)
            tracker.log_plots(output.hypotheses, output.target, output.target_name)
            return TrackedRun(
                run_id=tracker.run_id,
                experiment_id=tracker.experiment_id,
                metrics=tracker.final_metrics(),
                model_uri=model_uri,
                run_name=tracker.run_name or "",
                url=run_url(config, tracker.experiment_id, tracker.run_id),
            )
    except Exception as exc:
        if isinstance(exc, EmilyError) or not _store_down(exc):
            raise
        raise TrackingUnavailableError(
            f"tracking store {config.tracking_uri} stopped answering ({type(exc).__name__}); "
            "runs and metrics logged before the outage are kept, this run stays RUNNING there"
        ) from exc
