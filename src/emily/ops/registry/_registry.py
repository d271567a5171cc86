"""``ModelRegistry``: MLflow's registry with model cards, ``champion``/``challenger``, a ledger.

Why aliases: MLflow deprecated stages; an alias is a movable name for one version, and the
runtime loads ``models:/NAME@champion``. Why a ledger beside it: MLflow forgets who held an
alias before, so every alias move is also appended to the ``DecisionLedger``, and a rollback
replays that ledger to find the previous holder (a stack: promote pushes, rollback pops).

Why a GFlowNet version is an MLflow Model: so MLflow's own tools load and serve it
(``mlflow.pyfunc.load_model("models:/NAME@champion")``, ``mlflow models serve``), with a
signature and an input example in MLflow's model views. ``emily train`` logs the GFlowNet as
that model when training ends, and registration points the version at it (no second copy); a
run that logged a loose checkpoint (an older run, a caller of ``track_training`` without the
pyfunc logger) has it turned into that model at registration (see ``_pyfunc``). The runtime
warm-starts from the checkpoint inside it, so serving and the runtime read the same file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from emily.core import Clock, InputError, SovereignModel, system_clock
from emily.core.settings import load_settings
from emily.ops.registry._cards import (
    ModelCard,
    ModelCardError,
    ModelCardSpec,
    load_card,
    resolve_card,
)
from emily.ops.registry._ledger import Decision, DecisionLedger
from emily.ops.tracking import (
    MODEL_ARTIFACT,
    MODEL_META_FILE,
    STATE_DICT_FILE,
    TrackingConfig,
    make_client,
    tracking_config,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

COGNITION_MODEL = "emily-gflownet"
"""The registered name of the cognition tier's model (loaded as ``models:/NAME@champion``)."""
ALIASES = ("champion", "challenger")
CARD_TAG = "emily.model_card"
GFLOWNET_CLASS = "emily.cognition.gflownet.GFlowNet"
"""The ``class`` the tracker records in ``emily_model.json`` for a GFlowNet checkpoint."""


class ModelVersionInfo(SovereignModel):
    """One registered version, with the aliases it holds and its resolved card."""

    name: str
    version: str
    run_id: str | None
    source: str
    aliases: list[str]
    card: ModelCard | None


class RegisteredModelInfo(SovereignModel):
    """A registered model's summary for ``emily models list``."""

    name: str
    versions: int
    latest_version: str | None
    aliases: dict[str, str]


@contextmanager
def _process_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's process-wide tracking URI at ``uri`` for the block, then put it back.

    MLflow's SQL registry resolves a ``models:/MODEL_ID`` source through the process-wide URI,
    not the client's (a TODO in its ``create_model_version``), and would look in the wrong
    store; ``MLFLOW_TRACKING_URI``, which MLflow also sets, is restored as it was.
    """
    import mlflow

    env = os.environ.get("MLFLOW_TRACKING_URI")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env


def default_ledger() -> DecisionLedger:
    """The ledger at ``EMILY_HOME/ops/decisions.db``."""
    return DecisionLedger(load_settings().path("ops", "decisions.db"))


class ModelRegistry:
    """Register, promote, roll back and load models; every move lands in the ledger."""

    def __init__(
        self,
        *,
        config: TrackingConfig | None = None,
        client: MlflowClient | None = None,
        ledger: DecisionLedger | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or tracking_config()
        self.client = client or make_client(self.config)
        self.ledger = ledger or default_ledger()
        self._clock = clock or system_clock()

    def _record(self, **fields: Any) -> Decision:
        decision = Decision(when=self._clock.now(), **fields)
        self.ledger.record(decision)
        return decision

    def register(
        self,
        *,
        run_id: str,
        name: str,
        card: Path | ModelCardSpec,
        artifact_path: str = MODEL_ARTIFACT,
        who: str = "emily",
        why: str = "trained model registered",
    ) -> ModelVersionInfo:
        """Register the model logged by run ``run_id`` under ``name``, with its card.

        Raises:
            ModelCardError: The card is missing, invalid, for another model, or names a
                metric the run did not log. Nothing is registered then.
            InputError: The run does not exist or logged no model at ``artifact_path``.
        """
        from mlflow.exceptions import MlflowException

        spec = load_card(card) if isinstance(card, Path) else card
        if spec.name != name:
            raise ModelCardError(f"model card is for {spec.name!r}, not for {name!r}")
        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            raise InputError(f"no tracked run with id {run_id!r}") from None
        resolved = resolve_card(spec, run_id=run_id, run_metrics=run.data.metrics)
        source, model_id = self._model_source(run, artifact_path)
        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name, description=spec.intended_use)
        with _process_tracking_uri(self.config.tracking_uri):
            version = self.client.create_model_version(
                name,
                source=source,
                run_id=run_id,
                tags={CARD_TAG: resolved.model_dump_json()},
                description=spec.intended_use,
                model_id=model_id,
            )
        with tempfile.TemporaryDirectory(prefix="emily-card-") as tmp:
            path = Path(tmp) / f"{name}-v{version.version}.yaml"
            path.write_text(yaml.safe_dump(resolved.model_dump(mode="json")), encoding="utf-8")
            self.client.log_artifact(run_id, str(path), "model_card")
        self._record(
            who=who,
            what="register",
            why=why,
            model=name,
            version=str(version.version),
            details={f"metric.{k}": repr(v) for k, v in resolved.metrics.items()},
        )
        return self.version(name, str(version.version))

    def _model_source(self, run: Run, artifact_path: str) -> tuple[str, str | None]:
        """A new version's source (``models:/MODEL_ID`` or a folder) and its MLflow Model's id.

        The run's MLflow Model named ``artifact_path`` if it logged one (``emily train`` does,
        and an earlier registration of a loose checkpoint made one); else its loose GFlowNet
        checkpoint, made into an MLflow Model now; else (a state dict) the run's artifact folder.
        """
        from mlflow.artifacts import download_artifacts
        from mlflow.entities import LoggedModelStatus
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        run_id = run.info.run_id
        for output in run.outputs.model_outputs if run.outputs else []:
            logged = self.client.get_logged_model(output.model_id)
            if logged.name == artifact_path and logged.status == LoggedModelStatus.READY:
                return f"models:/{logged.model_id}", str(logged.model_id)
        # The run's own files, not ``client.list_artifacts``: that one also lists a logged
        # model of the same name, found through MLflow's process-wide URI (another store).
        files = get_artifact_repository(
            run.info.artifact_uri, tracking_uri=self.config.tracking_uri
        )
        listed = {a.path for a in files.list_artifacts(artifact_path)}
        if not listed:
            raise InputError(f"run {run_id} logged no model under {artifact_path!r}")
        if f"{artifact_path}/{MODEL_META_FILE}" not in listed:
            return f"{run.info.artifact_uri}/{artifact_path}", None

        def fetch(path: str, dst: str) -> str:
            return download_artifacts(
                artifact_uri=f"{run.info.artifact_uri}/{path}",
                dst_path=dst,
                tracking_uri=self.config.tracking_uri,
            )

        with tempfile.TemporaryDirectory(prefix="emily-register-") as tmp:
            meta_path = fetch(f"{artifact_path}/{MODEL_META_FILE}", tmp)
            meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
            if meta.get("format") == "checkpoint" and meta.get("class") == GFLOWNET_CLASS:
                from emily.ops.registry._pyfunc import log_gflownet_model

                checkpoint = fetch(f"{artifact_path}/{meta['file']}", tmp)
                model_id = log_gflownet_model(
                    self.client, run_id, Path(checkpoint), name=artifact_path
                )
                return f"models:/{model_id}", model_id
        return f"{run.info.artifact_uri}/{artifact_path}", None

    def version(self, name: str, version: str) -> ModelVersionInfo:
        """One version of ``name`` with its aliases and card."""
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version(name, version)
        except MlflowException:
            raise InputError(f"model {name!r} has no version {version!r}") from None
        card_json = mv.tags.get(CARD_TAG)
        return ModelVersionInfo(
            name=name,
            version=str(mv.version),
            run_id=mv.run_id,
            source=str(mv.source),
            aliases=sorted(mv.aliases),
            card=None if card_json is None else ModelCard.model_validate_json(card_json),
        )

    def list_models(self) -> list[RegisteredModelInfo]:
        """Every registered model with its version count and alias holders."""
        infos = []
        for model in self.client.search_registered_models():
            versions = self.client.search_model_versions(f"name = '{model.name}'")
            numbers = sorted(int(v.version) for v in versions)
            infos.append(
                RegisteredModelInfo(
                    name=model.name,
                    versions=len(numbers),
                    latest_version=str(numbers[-1]) if numbers else None,
                    aliases={k: str(v) for k, v in sorted(model.aliases.items())},
                )
            )
        return sorted(infos, key=lambda m: m.name)

    def alias_holder(self, name: str, alias: str = "champion") -> str | None:
        """The version holding ``alias`` now, or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    @staticmethod
    def _check_alias(alias: str) -> None:
        if alias not in ALIASES:
            raise InputError(f"alias must be one of {', '.join(ALIASES)}, got {alias!r}")

    def promote(
        self, name: str, version: str, *, alias: str = "champion", who: str = "emily", why: str
    ) -> Decision:
        """Point ``alias`` at ``version``; a challenger made champion gives up ``challenger``."""
        self._check_alias(alias)
        info = self.version(name, version)
        previous = self.alias_holder(name, alias)
        if previous == info.version:
            raise InputError(f"version {version} of {name!r} already holds @{alias}")
        self.client.set_registered_model_alias(name, alias, info.version)
        decision = self._record(
            who=who,
            what="promote",
            why=why,
            model=name,
            version=info.version,
            alias=alias,
            previous_version=previous,
        )
        if alias == "champion" and "challenger" in info.aliases:
            self.clear_alias(name, "challenger", who=who, why=f"graduated to champion: {why}")
        return decision

    def clear_alias(self, name: str, alias: str, *, who: str = "emily", why: str) -> Decision:
        """Remove ``alias`` (e.g. retire a challenger that lost its canary)."""
        self._check_alias(alias)
        previous = self.alias_holder(name, alias)
        if previous is None:
            raise InputError(f"no version of {name!r} holds @{alias}")
        self.client.delete_registered_model_alias(name, alias)
        return self._record(
            who=who,
            what="clear-alias",
            why=why,
            model=name,
            alias=alias,
            previous_version=previous,
        )

    def rollback(
        self, name: str, *, alias: str = "champion", who: str = "emily", why: str
    ) -> Decision:
        """Give ``alias`` back to the version that held it before the current one.

        The ledger is replayed as a stack of holders (promote pushes, rollback pops), so two
        rollbacks in a row walk two steps back instead of flipping between two versions.
        """
        self._check_alias(alias)
        holders: list[str | None] = []
        for d in self.ledger.history(name, alias=alias):
            if d.what == "promote":
                holders.append(d.version)
            elif d.what == "rollback" and holders:
                holders.pop()
            elif d.what == "clear-alias":
                holders.append(None)
        current = self.alias_holder(name, alias)
        if len(holders) < 2 or holders[-2] is None:
            raise InputError(
                f"nothing to roll back to: the ledger has no earlier holder of {name}@{alias}"
            )
        target = holders[-2]
        self.client.set_registered_model_alias(name, alias, target)
        return self._record(
            who=who,
            what="rollback",
            why=why,
            model=name,
            version=target,
            alias=alias,
            previous_version=current,
        )

    def history(self, name: str | None = None) -> list[Decision]:
        """The ledger's decisions about ``name`` (or every model), oldest first."""
        return self.ledger.history(name)

    @staticmethod
    def model_uri(name: str, alias: str = "champion") -> str:
        """The URI the runtime loads: ``models:/NAME@ALIAS``."""
        return f"models:/{name}@{alias}"

    def download_model(self, name: str, dst: Path, alias: str = "champion") -> Path:
        """Download ``models:/NAME@ALIAS`` into ``dst`` and return its folder.

        A GFlowNet's folder is an MLflow Model (``MLmodel``, the checkpoint under
        ``artifacts/``); a state dict's holds ``state_dict.pt`` and ``emily_model.json``.
        """
        version = self.alias_holder(name, alias)
        if version is None:
            raise InputError(f"no version of {name!r} holds @{alias}: promote one first")
        return self._download_version(name, version, dst)

    def _download_version(self, name: str, version: str, dst: Path) -> Path:
        from mlflow.artifacts import download_artifacts

        # Resolve the version's files here: MLflow's own ``models:/`` resolution reads the
        # process-wide registry URI, not this registry's, and would look in the wrong store.
        source = self.client.get_model_version_download_uri(name, version)
        dst.mkdir(parents=True, exist_ok=True)
        folder = download_artifacts(
            artifact_uri=source, dst_path=str(dst), tracking_uri=self.config.tracking_uri
        )
        return Path(folder)

    def load_checkpoint(self, name: str, version: str) -> bytes:
        """The GFlowNet checkpoint of ``name`` version ``version``, as bytes.

        The runtime warm-starts from these bytes: the same file the MLflow Model's ``predict``
        loads (older versions, registered as loose files, keep their ``checkpoint.pt``).
        """
        from emily.ops.registry._pyfunc import checkpoint_file

        with tempfile.TemporaryDirectory(prefix="emily-checkpoint-") as tmp:
            folder = self._download_version(name, version, Path(tmp))
            path = checkpoint_file(folder)
            if not path.is_file():
                raise InputError(f"{name} v{version} holds no GFlowNet checkpoint")
            return path.read_bytes()

    def load_state_dict(self, name: str, alias: str = "champion") -> dict[str, Any]:
        """Load the torch state dict of ``models:/NAME@ALIAS`` (no code is unpickled)."""
        import torch

        with tempfile.TemporaryDirectory(prefix="emily-load-") as tmp:
            folder = self.download_model(name, Path(tmp), alias)
            meta_path = folder / MODEL_META_FILE
            meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
            if meta.get("format") != "torch-state-dict":
                kind = meta.get("format", "MLflow pyfunc")
                raise InputError(
                    f"{name}@{alias} is a {kind!r} model, not a state dict: load it with "
                    "mlflow.pyfunc.load_model() or load_checkpoint()"
                )
            state: dict[str, Any] = torch.load(
                folder / STATE_DICT_FILE, map_location="cpu", weights_only=True
            )
        return state
