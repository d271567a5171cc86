"""The GFlowNet as an MLflow Model (pyfunc flavor), so MLflow's own tools load and serve it.

Why pyfunc around our checkpoint, not the ``pytorch`` flavor: sampling needs the policy network
*and* its environment (the score with its data statistics, the DAG constraints), and
``GFlowNet.load`` rebuilds both from one ``checkpoint.pt``. That file is the MLflow Model's only
artifact, so ``mlflow.pyfunc.load_model("models:/NAME@champion")``, ``mlflow models serve`` and
the runtime's warm start (``emily.runtime.champion``) all read the same bytes. ``emily train``
logs the model once, when training ends (:func:`log_trained_gflownet`); registration then points
a version at it instead of storing the checkpoint a second time.

The contract, stored as the model's signature and input example:

- input: one row per request, ``n`` (hypotheses to draw, 1..``MAX_SAMPLES``) and an optional
  ``seed`` (the same seed draws the same hypotheses);
- output: one row per distinct hypothesis of a request, most drawn first: ``request`` (the input
  row), ``hypothesis`` (JSON: a DAG's ``[[parent, child], ...]`` edges, a grid's coordinates),
  ``count``, ``share`` (``count / n``) and ``log_reward`` (the model's log-reward of it; for a
  DAG the score ``log p(D | G) + log p(G)`` minus the empty graph's).

Each logged model carries ``_pyfunc_code.py`` (MLflow's "models from code": nothing is
pickled), which imports :class:`GFlowNetPyfunc` from here: this module's path is part of every
logged model, keep it importable.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import shutil
import tempfile
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd  # at run time: MLflow resolves ``predict``'s type hints when it logs

from emily.core import InputError
from emily.ops.tracking import CHECKPOINT_FILE, MODEL_ARTIFACT

with warnings.catch_warnings():
    # On import, mlflow.pyfunc warns about the type hints of its own agent request classes.
    warnings.filterwarnings("ignore", ".*Any type hint is inferred as AnyType", UserWarning)
    import mlflow.pyfunc
    from mlflow.pyfunc.model import PythonModel, PythonModelContext

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from emily.cognition import GFlowNet
    from emily.ops.tracking import MlflowTracker

CHECKPOINT_ARTIFACT = "checkpoint"
"""The key of the checkpoint in the pyfunc flavor's ``artifacts``."""
MAX_SAMPLES = 100_000
"""Most hypotheses one request may ask for (a bound on one serving request's work)."""
MODEL_TYPE = "emily-gflownet"
"""The ``model_type`` of the logged model (MLflow's model views filter on it)."""
OUTPUT_COLUMNS = ("request", "hypothesis", "count", "share", "log_reward")


def _requests(frame: pd.DataFrame) -> list[tuple[int, int | None]]:
    """``(n, seed)`` per input row, or one clear InputError naming the row and what is wrong."""
    if not isinstance(frame, pd.DataFrame) or "n" not in frame.columns:
        raise InputError("the model input must be a table with a column `n` (and optional `seed`)")
    seeds = frame["seed"] if "seed" in frame.columns else [None] * len(frame)
    out: list[tuple[int, int | None]] = []
    for row, (n, seed) in enumerate(zip(frame["n"], seeds, strict=True)):
        count = _whole(n)
        if count is None or not 1 <= count <= MAX_SAMPLES:
            raise InputError(f"row {row}: n must be an integer in 1..{MAX_SAMPLES}, got {n!r}")
        if seed is None or (isinstance(seed, float) and math.isnan(seed)):
            out.append((count, None))
            continue
        whole = _whole(seed)
        if whole is None or whole < 0:
            raise InputError(f"row {row}: seed must be an integer >= 0, got {seed!r}")
        out.append((count, whole))
    return out


def _whole(value: object) -> int | None:
    """``value`` as an int if it is a whole number (``8``, ``8.0``, numpy's), else ``None``."""
    if isinstance(value, bool | str | bytes):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def sample_hypotheses(net: GFlowNet, requests: pd.DataFrame) -> pd.DataFrame:
    """Draw each request's ``n`` hypotheses and count the distinct ones (see the module doc).

    A seeded request draws under a forked torch RNG, so it neither depends on nor disturbs the
    draws of unseeded ones.
    """
    import torch

    rows: list[dict[str, Any]] = []
    for request, (n, seed) in enumerate(_requests(requests)):
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            samples = net.generate(n)
        keys = samples.keys.tolist()
        first = {key: i for i, key in reversed(list(enumerate(keys)))}
        for key, count in Counter(keys).most_common():  # ties: in order of first draw
            i = first[key]
            rows.append(
                {
                    "request": request,
                    "hypothesis": json.dumps(samples.descriptions[i]),
                    "count": count,
                    "share": count / n,
                    "log_reward": float(samples.log_reward[i]),
                }
            )
    frame = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
    return frame.astype({"request": "int64", "count": "int64", "share": "float64"})


class GFlowNetPyfunc(PythonModel):
    """``predict(table of n[, seed]) -> table of hypotheses``, from the model's checkpoint."""

    def load_context(self, context: PythonModelContext) -> None:
        """Rebuild the GFlowNet (network and environment) from the checkpoint artifact."""
        from emily.cognition import GFlowNet

        self.net = GFlowNet.load(context.artifacts[CHECKPOINT_ARTIFACT])

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The hypotheses each input row asks for (see :func:`sample_hypotheses`)."""
        return sample_hypotheses(self.net, model_input)


def _signature_and_example(checkpoint: Path) -> tuple[Any, pd.DataFrame]:
    """The signature (``seed`` optional; outputs inferred from a real draw) and input example.

    Drawing from the checkpoint here also proves, before anything is registered, that the file
    loads and samples.
    """
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    from emily.cognition import GFlowNet

    example = pd.DataFrame({"n": [16], "seed": [0]})
    drawn = sample_hypotheses(GFlowNet.load(checkpoint), example)
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold gaps: ``seed`` is declared optional
        # below, and no output column ever has a gap.
        warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer", UserWarning)
        inferred = infer_signature(example, drawn)
    # Inference cannot say "an integer that may be left out": a column with gaps is a double.
    inputs = Schema([ColSpec("long", "n"), ColSpec("long", "seed", required=False)])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs), example


def log_gflownet_model(
    client: MlflowClient, run_id: str, checkpoint: Path, *, name: str = "model"
) -> str:
    """Log ``checkpoint`` as an MLflow Model of run ``run_id``; return its ``model_id``.

    Uses ``client`` throughout (never MLflow's process-wide tracking URI), so it logs to the
    store the caller configured. The model is ``READY`` only once its files are stored; a
    failure marks it ``FAILED`` and propagates.
    """
    from mlflow.entities import LoggedModelOutput
    from mlflow.models import Model

    for noisy in ("mlflow.pyfunc", "mlflow.models"):  # INFO lines on stderr, not news to a user
        logging.getLogger(noisy).setLevel(logging.WARNING)
    run = client.get_run(run_id)
    signature, example = _signature_and_example(checkpoint)
    model = client.create_logged_model(
        run.info.experiment_id, name=name, source_run_id=run_id, model_type=MODEL_TYPE
    )
    try:
        with tempfile.TemporaryDirectory(prefix="emily-pyfunc-") as tmp:
            path = Path(tmp) / "model"
            staged = Path(tmp) / CHECKPOINT_FILE  # the name it keeps inside the model
            shutil.copyfile(checkpoint, staged)
            mlflow.pyfunc.save_model(
                str(path),
                python_model=str(Path(__file__).with_name("_pyfunc_code.py")),
                artifacts={CHECKPOINT_ARTIFACT: str(staged)},
                signature=signature,
                input_example=example,
                pip_requirements=[_requirement()],
                mlflow_model=Model(
                    artifact_path=model.artifact_location,
                    model_uuid=model.model_id,
                    run_id=run_id,
                    model_id=model.model_id,
                ),
            )
            client.log_model_artifacts(model.model_id, str(path))
        client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=0)])
    except BaseException:
        client.finalize_logged_model(model.model_id, "FAILED")
        raise
    client.finalize_logged_model(model.model_id, "READY")
    return str(model.model_id)


def log_trained_gflownet(tracker: MlflowTracker, net: GFlowNet) -> str:
    """Log a freshly trained GFlowNet as its run's MLflow Model; return the model's ``runs:/`` URI.

    A ``track_training(log_model=...)`` logger: the run's only copy of the checkpoint, named
    ``MODEL_ARTIFACT`` as the registry looks for it, in MLflow's model views from the start.
    ``runs:/RUN/model`` resolves to this model in MLflow's own loaders.
    """
    with tempfile.TemporaryDirectory(prefix="emily-trained-") as tmp:
        checkpoint = Path(tmp) / CHECKPOINT_FILE
        net.save(checkpoint)
        log_gflownet_model(tracker.client, tracker.run_id, checkpoint, name=MODEL_ARTIFACT)
    return f"runs:/{tracker.run_id}/{MODEL_ARTIFACT}"


def _requirement() -> str:
    """This package, pinned: the model's code is ``emily`` itself (serve with ``--env-manager
    local`` where the package is not on an index)."""
    return f"emily-sovereign=={importlib.metadata.version('emily-sovereign')}"


def checkpoint_file(folder: Path) -> Path:
    """The checkpoint inside a downloaded model: an MLflow Model's artifact, or a loose file."""
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME

    if (folder / MLMODEL_FILE_NAME).is_file():
        flavor = Model.load(str(folder / MLMODEL_FILE_NAME)).flavors.get("python_function", {})
        entry = flavor.get("artifacts", {}).get(CHECKPOINT_ARTIFACT)
        if entry is None:
            raise InputError(f"the MLflow Model in {folder} has no {CHECKPOINT_ARTIFACT} artifact")
        return folder / str(entry["path"])
    return folder / CHECKPOINT_FILE
