"""``ModelRegistry``: MLflow's registry with model cards, ``champion``/``challenger``, a ledger.

Why aliases: MLflow deprecated stages; an alias is a movable name for one version, and the
runtime loads ``models:/NAME@champion``. Why a ledger beside it: MLflow forgets who held an
alias before, so every alias move is also appended to the ``DecisionLedger``, and a rollback
replays that ledger to find the previous holder (a stack: promote pushes, rollback pops).
"""

from __future__ import annotations

import json
import tempfile
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

COGNITION_MODEL = "emily-gflownet"
"""The registered name of the cognition tier's model (loaded as ``models:/NAME@champion``)."""
ALIASES = ("champion", "challenger")
CARD_TAG = "emily.model_card"


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
        if not self.client.list_artifacts(run_id, artifact_path):
            raise InputError(f"run {run_id} logged no model under {artifact_path!r}")
        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name, description=spec.intended_use)
        version = self.client.create_model_version(
            name,
            source=f"{run.info.artifact_uri}/{artifact_path}",
            run_id=run_id,
            tags={CARD_TAG: resolved.model_dump_json()},
            description=spec.intended_use,
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
        """Download ``models:/NAME@ALIAS`` into ``dst``; the folder holds ``emily_model.json``.

        This is how the runtime loads its cognition model: a state dict for ``load_state_dict``,
        or the GFlowNet's own checkpoint for ``GFlowNet.load(folder / "checkpoint.pt")``.
        """
        from mlflow.artifacts import download_artifacts

        version = self.alias_holder(name, alias)
        if version is None:
            raise InputError(f"no version of {name!r} holds @{alias}: promote one first")
        # Resolve the alias here: MLflow's own ``models:/`` resolution reads the process-wide
        # registry URI, not this registry's, and would look in the wrong store.
        source = self.client.get_model_version_download_uri(name, version)
        dst.mkdir(parents=True, exist_ok=True)
        folder = download_artifacts(
            artifact_uri=source, dst_path=str(dst), tracking_uri=self.config.tracking_uri
        )
        return Path(folder)

    def load_state_dict(self, name: str, alias: str = "champion") -> dict[str, Any]:
        """Load the torch state dict of ``models:/NAME@ALIAS`` (no code is unpickled)."""
        import torch

        with tempfile.TemporaryDirectory(prefix="emily-load-") as tmp:
            folder = self.download_model(name, Path(tmp), alias)
            meta = json.loads((folder / MODEL_META_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != "torch-state-dict":
                raise InputError(
                    f"{name}@{alias} is a {meta.get('format')!r} model, not a state dict: "
                    "use download_model() and its class's loader"
                )
            state: dict[str, Any] = torch.load(
                folder / STATE_DICT_FILE, map_location="cpu", weights_only=True
            )
        return state
