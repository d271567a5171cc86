"""``emily models canary|shadow start|status|stop|promote|rollback``: rollouts at the terminal.

Why the CLI only writes state: the rollout is carried out by whichever process serves cognition
(``emily serve``), which re-reads ``EMILY_HOME/ops/rollout.db`` every few seconds. The CLI
records the rollout there (and moves ``@challenger`` so the registry says what is being tried),
shows its progress, and ends it by hand when asked; the canary's own SLO verdict ends it
automatically, recorded in the ledger that ``emily models history`` prints.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emily.core import EmilyError, InputError
from emily.ops.rollout import (
    AB_SETTINGS,
    SHADOW,
    SLO,
    ABSettings,
    BlueGreenDeployment,
    CanaryRollout,
    CanaryState,
    DescribedSamples,
    HypothesisModel,
    RolloutStore,
    ShadowSettings,
    ab_id,
    default_smoke_test,
    shadow_id,
)

console = Console()
canary_app = typer.Typer(
    help="Canary rollouts: a share of cognition requests goes to the challenger until the SLO "
    "verdict promotes it or rolls it back.",
    no_args_is_help=True,
)
shadow_app = typer.Typer(
    help="Shadow rollouts: the challenger runs on every request beside the champion; only the "
    "champion answers, and the comparisons are logged to MLflow.",
    no_args_is_help=True,
)

ab_app = typer.Typer(
    help="A/B tests: each cognition request goes to the champion or the challenger by a stable "
    "hash; Welch's test names the winner, recorded in the ledger.",
    no_args_is_help=True,
)

AB_METRICS = ("diversity", "latency_ms", "error")
bluegreen_app = typer.Typer(
    help="Blue-green switches: the new version serves every request at once after a smoke "
    "test; the old one can be switched back within the rollback window.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Registered model name, e.g. emily-gflownet.")]
VersionArg = Annotated[str, typer.Argument(help="The challenger's registered version.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
WhyOption = Annotated[str, typer.Option("--why", help="Reason, kept in the decision ledger.")]


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown-user"


def _registry() -> Any:
    from emily.ops.registry import ModelRegistry

    return ModelRegistry()


def _canaries(store: RolloutStore, name: str | None) -> list[CanaryRollout]:
    """The saved canaries (of ``name``), most recently updated first."""
    registry = _registry()
    return [
        CanaryRollout.from_store(store, r.id, registry=registry)
        for r in store.records()
        if r.kind == "canary" and (name is None or r.state.get("model") == name)
    ]


def _running(store: RolloutStore, name: str) -> CanaryRollout:
    for canary in _canaries(store, name):
        if canary.state is CanaryState.RUNNING:
            return canary
    raise InputError(
        f"no canary of {name!r} is running: start one with "
        f"`emily models canary start {name} VERSION`"
    )


@canary_app.command("start")
def canary_start(
    name: NameArg,
    version: VersionArg,
    share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of cognition requests sent to VERSION (0-1)."),
    ] = 0.1,
    min_samples: Annotated[
        int, typer.Option(min=1, help="Challenger batches measured before the SLO verdict.")
    ] = 50,
    max_p95_ms: Annotated[
        float, typer.Option(min=0.0, help="SLO: challenger p95 batch latency, in ms.")
    ] = 60_000.0,
    min_diversity: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="SLO: mean hypothesis diversity per batch.")
    ] = 0.0,
    max_error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="SLO: share of failed challenger batches.")
    ] = 0.01,
    why: Annotated[str, typer.Option("--why", help="Reason, kept in the ledger.")] = "canary",
) -> None:
    """Send a stable share of cognition requests to VERSION; the SLO verdict ends it.

    `emily serve` picks the canary up within seconds. After --min-samples challenger batches it
    promotes VERSION to @champion if every SLO holds, else clears @challenger (rolled back).
    """
    if max_p95_ms <= 0:
        raise InputError(f"--max-p95-ms must be above 0, got {max_p95_ms:g}")
    store = RolloutStore.default()
    registry = _registry()
    info = registry.version(name, version)  # an unknown model or version fails here
    for canary in _canaries(store, name):
        if canary.state is CanaryState.RUNNING:
            raise InputError(
                f"a canary of {name} v{canary.challenger_version} is already running: "
                f"stop it first (`emily models canary stop {name}`)"
            )
    rollout_id = CanaryRollout.id_for(name, info.version)
    if store.load_state(rollout_id, "canary") is not None:
        raise InputError(
            f"{name} v{info.version} has had a canary already ({rollout_id}); its evidence is "
            "kept: register a new version to canary again"
        )
    if registry.alias_holder(name, "champion") == info.version:
        raise InputError(f"{name} v{info.version} is the champion already: canary another one")
    if registry.alias_holder(name, "challenger") != info.version:
        registry.promote(name, info.version, alias="challenger", who=_who(), why=why)
    slo = SLO(max_p95_latency_ms=max_p95_ms, min_diversity=min_diversity,
              max_error_rate=max_error_rate)  # fmt: skip
    canary = CanaryRollout(
        model_name=name,
        champion=_Unserved(),
        challenger=_Unserved(),
        challenger_version=info.version,
        registry=registry,
        percent=share * 100.0,
        slo=slo,
        min_requests=min_samples,
        store=store,
    )
    console.print(
        f"canary {canary.rollout_id}: {share:.0%} of cognition requests to v{info.version} "
        f"until {min_samples} batches decide (SLO p95 <= {max_p95_ms:g} ms, diversity >= "
        f"{min_diversity:g}, error rate <= {max_error_rate:g})",
        soft_wrap=True,
    )


class _Unserved:
    """The CLI never serves: the canary's models are loaded by `emily serve`."""

    def generate(self, num_samples: int) -> list[Any]:
        raise InputError("the CLI records the canary; `emily serve` runs it")


def _canary_json(canary: CanaryRollout) -> dict[str, Any]:
    return {
        "id": canary.rollout_id,
        "model": canary.model_name,
        "challenger_version": canary.challenger_version,
        "state": canary.state.value,
        "share": canary.percent / 100.0,
        "min_samples": canary.min_requests,
        "slo": canary.slo.model_dump(),
        "report": canary.report().model_dump(),
        "decision": None if canary.decision is None else canary.decision.model_dump(mode="json"),
    }


@canary_app.command("status")
def canary_status(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every canary (of NAME): state, share, evidence so far against the SLOs, and verdict."""
    rows = [_canary_json(c) for c in _canaries(RolloutStore.default(), name)]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        console.print("no canaries yet")
        return
    table = Table(title="canaries")
    for column in ("canary", "state", "share", "batches", "p95 ms", "diversity", "errors"):
        table.add_column(column, no_wrap=column in ("canary", "state"))
    table.add_column("verdict", overflow="fold")
    for row in rows:
        report = row["report"]

        def fmt(value: float | None) -> str:
            return "-" if value is None else f"{value:.3g}"

        verdict = row["decision"]["why"] if row["decision"] else "; ".join(report["breaches"])
        table.add_row(
            row["id"],
            row["state"],
            f"{row['share']:.0%}",
            f"{report['requests']}/{row['min_samples']}",
            fmt(report["p95_latency_ms"]),
            fmt(report["mean_diversity"]),
            fmt(report["error_rate"]),
            escape(verdict or "-"),
        )
    console.print(table)


def _end(name: str, state: CanaryState, why: str) -> None:
    canary = _running(RolloutStore.default(), name)
    canary.finish(state, why=why, who=_who())
    console.print(f"canary {canary.rollout_id}: {state.value}")


@canary_app.command("stop")
def canary_stop(name: NameArg, why: WhyOption = "canary stopped by hand") -> None:
    """End the running canary without a verdict: all traffic back to the champion."""
    _end(name, CanaryState.STOPPED, why)


@canary_app.command("promote")
def canary_promote(name: NameArg, why: WhyOption = "canary promoted by hand") -> None:
    """End the running canary now by promoting its challenger to @champion."""
    _end(name, CanaryState.PROMOTED, why)


@canary_app.command("rollback")
def canary_rollback(name: NameArg, why: WhyOption = "canary rolled back by hand") -> None:
    """End the running canary now by clearing @challenger: all traffic back to the champion."""
    _end(name, CanaryState.ROLLED_BACK, why)


def _shadow(store: RolloutStore, name: str) -> ShadowSettings | None:
    saved = store.load_state(shadow_id(name), SHADOW)
    return None if saved is None else ShadowSettings.model_validate(saved)


@shadow_app.command("start")
def shadow_start(name: NameArg, version: VersionArg) -> None:
    """Run VERSION beside the champion on every cognition request; only the champion answers."""
    store = RolloutStore.default()
    info = _registry().version(name, version)
    current = _shadow(store, name)
    if current is not None and current.state == "running":
        raise InputError(
            f"{name} v{current.challenger_version} already runs in shadow: "
            f"stop it first (`emily models shadow stop {name}`)"
        )
    settings = ShadowSettings(model=name, challenger_version=info.version)
    store.save_state(shadow_id(name), SHADOW, settings.model_dump())
    console.print(f"shadow {shadow_id(name)}: v{info.version} runs beside the champion")


@shadow_app.command("status")
def shadow_status(name: NameArg, as_json: JsonOption = False) -> None:
    """The model's shadow rollout: which version, and whether it runs."""
    settings = _shadow(RolloutStore.default(), name)
    if as_json:
        typer.echo(json.dumps(None if settings is None else settings.model_dump()))
        return
    if settings is None:
        console.print(f"no shadow rollout of {escape(name)}")
        return
    console.print(f"shadow {shadow_id(name)}: v{settings.challenger_version} {settings.state}")


def _stop_shadow(name: str) -> ShadowSettings:
    store = RolloutStore.default()
    settings = _shadow(store, name)
    if settings is None or settings.state != "running":
        raise InputError(f"no shadow rollout of {name!r} is running")
    stopped = settings.model_copy(update={"state": "stopped"})
    store.save_state(shadow_id(name), SHADOW, stopped.model_dump())
    return settings


@shadow_app.command("stop")
def shadow_stop(name: NameArg) -> None:
    """Stop running the shadow (the champion never stopped answering)."""
    _stop_shadow(name)
    console.print(f"shadow {shadow_id(name)}: stopped")


@shadow_app.command("promote")
def shadow_promote(name: NameArg, why: WhyOption) -> None:
    """Stop the shadow and make its version @champion (recorded with --why)."""
    settings = _stop_shadow(name)
    decision = _registry().promote(
        name, settings.challenger_version, alias="champion", who=_who(), why=why
    )
    console.print(f"{escape(name)}@champion: v{decision.previous_version} → v{decision.version}")


@shadow_app.command("rollback")
def shadow_rollback(name: NameArg) -> None:
    """Stop the shadow without promoting it (same as stop: a shadow never served)."""
    shadow_stop(name)


def _ab_tests(store: RolloutStore, name: str | None) -> list[ABSettings]:
    return [
        ABSettings.model_validate(r.state)
        for r in store.records()
        if r.kind == AB_SETTINGS and (name is None or r.state.get("model") == name)
    ]


def _running_ab(store: RolloutStore, name: str) -> ABSettings:
    for test in _ab_tests(store, name):
        if test.state == "running":
            return test
    raise InputError(
        f"no A/B test of {name!r} is running: start one with `emily models ab start {name} VERSION`"
    )


@ab_app.command("start")
def ab_start(
    name: NameArg,
    version: VersionArg,
    share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests assigned to VERSION.")
    ] = 0.5,
    metric: Annotated[
        str, typer.Option(help="What decides: diversity (higher wins), latency_ms or error.")
    ] = "diversity",
    alpha: Annotated[float, typer.Option(help="Significance level of Welch's t-test.")] = 0.05,
    min_samples: Annotated[
        int, typer.Option(min=2, help="Batches each arm needs before a winner may be named.")
    ] = 30,
) -> None:
    """Split cognition requests between the champion and VERSION; the test names a winner."""
    store = RolloutStore.default()
    registry = _registry()
    info = registry.version(name, version)
    champion = registry.alias_holder(name, "champion")
    if champion is None:
        raise InputError(f"{name} has no @champion to test v{info.version} against: promote one")
    if champion == info.version:
        raise InputError(f"{name} v{info.version} is the champion already: test another one")
    for test in _ab_tests(store, name):
        if test.state == "running":
            raise InputError(
                f"an A/B test of {name} v{test.challenger_version} is already running: "
                f"stop it first (`emily models ab stop {name}`)"
            )
    if store.load_state(ab_id(name, info.version), AB_SETTINGS) is not None:
        raise InputError(f"{name} v{info.version} has had an A/B test already: register a new one")
    if metric not in AB_METRICS:
        raise InputError(f"--metric {metric!r}: expected one of {', '.join(AB_METRICS)}")
    if not 0.0 < share < 1.0 or not 0.0 < alpha < 1.0:
        raise InputError(
            f"--share {share:g} and --alpha {alpha:g} must both lie strictly in (0, 1)"
        )
    settings = ABSettings.model_validate(
        {"model": name, "champion_version": champion, "challenger_version": info.version,
         "share": share, "metric": metric, "alpha": alpha, "min_samples": min_samples}
    )  # fmt: skip
    settings.test(store)  # saves the arms' settings beside the evidence
    store.save_state(ab_id(name, info.version), AB_SETTINGS, settings.model_dump())
    console.print(
        f"A/B test {settings.experiment}: {share:.0%} of requests to v{info.version}, "
        f"{1 - share:.0%} to v{champion}; {metric} decides at alpha {alpha:g}",
        soft_wrap=True,
    )


@ab_app.command("status")
def ab_status(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every A/B test (of NAME): per-arm figures and the significance test's verdict."""
    store = RolloutStore.default()
    rows = []
    for test in _ab_tests(store, name):
        verdict = test.analyse(store)
        rows.append({**test.model_dump(), "experiment": test.experiment,
                     "arms": test.test(store).summary(),
                     "analysis": verdict.model_dump()})  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        console.print("no A/B tests yet")
        return
    table = Table(title="A/B tests")
    for column in ("experiment", "state", "control", "treatment", "metric", "n"):
        table.add_column(column, no_wrap=True)
    table.add_column("verdict", overflow="fold")
    for row in rows:
        analysis = row["analysis"]
        table.add_row(
            row["experiment"],
            row["state"],
            f"v{row['champion_version']}",
            f"v{row['challenger_version']} ({row['share']:.0%})",
            row["metric"],
            f"{analysis['n_control']}/{analysis['n_treatment']}",
            escape(row["verdict"] or analysis["summary"]),
        )
    console.print(table)


def _end_ab(name: str) -> ABSettings:
    store = RolloutStore.default()
    test = _running_ab(store, name)
    stopped = test.model_copy(update={"state": "stopped"})
    store.save_state(ab_id(name, test.challenger_version), AB_SETTINGS, stopped.model_dump())
    return test


@ab_app.command("stop")
def ab_stop(name: NameArg) -> None:
    """Stop the running A/B test: all traffic back to the champion (the evidence is kept)."""
    test = _end_ab(name)
    console.print(f"A/B test {test.experiment}: stopped")


@ab_app.command("promote")
def ab_promote(name: NameArg, why: WhyOption) -> None:
    """Stop the running A/B test and make its challenger @champion (recorded with --why)."""
    test = _end_ab(name)
    decision = _registry().promote(
        name, test.challenger_version, alias="champion", who=_who(), why=why
    )
    console.print(f"{escape(name)}@champion: v{decision.previous_version} → v{decision.version}")


@ab_app.command("rollback")
def ab_rollback(name: NameArg) -> None:
    """Stop the running A/B test without promoting (the champion never stopped serving)."""
    ab_stop(name)


def _smoke_test(name: str, version: str) -> Callable[[HypothesisModel], str | None]:
    """Sample the version's own GFlowNet (the served source trains from it on each window)."""

    def check(_: HypothesisModel) -> str | None:
        from emily.cognition import GFlowNet

        try:
            net = GFlowNet.load(_registry().load_checkpoint(name, version))
        except (EmilyError, OSError, RuntimeError, KeyError) as exc:
            return f"v{version} does not load: {exc}"
        return default_smoke_test(DescribedSamples(net))

    return check


def _deployment(store: RolloutStore, name: str) -> BlueGreenDeployment | None:
    """The model's saved blue-green slots, or ``None`` before its first switch."""
    saved = store.load_state(f"blue-green:{name}", "blue-green")
    if saved is None:
        return None
    return BlueGreenDeployment(
        name, _Unserved(), saved["live_version"], recorder=_registry().ledger, store=store,
        rollback_window_s=float(saved["rollback_window_s"]), who=_who(),
        loader=lambda _version: _Unserved(),
    )  # fmt: skip


@bluegreen_app.command("start")
def bluegreen_start(
    name: NameArg,
    version: VersionArg,
    window_s: Annotated[
        float, typer.Option(min=0.0, help="Seconds the old version stays ready to switch back.")
    ] = 3600.0,
    why: Annotated[str, typer.Option("--why", help="Reason, kept in the ledger.")] = (
        "blue-green deploy"
    ),
) -> None:
    """Switch every cognition request to VERSION if it passes a smoke test (all at once)."""
    store = RolloutStore.default()
    registry = _registry()
    info = registry.version(name, version)
    current = _deployment(store, name)
    live = current.live_version if current else registry.alias_holder(name, "champion")
    if live is None:
        raise InputError(f"{name} has no @champion serving to switch from: promote one")
    if live == info.version:
        raise InputError(f"{name} v{info.version} is live already")
    deployment = BlueGreenDeployment(
        name, _Unserved(), live, recorder=registry.ledger, store=store,
        rollback_window_s=window_s, who=_who(), loader=lambda _version: _Unserved(),
    )  # fmt: skip
    decision = deployment.deploy(_Unserved(), info.version, smoke_test=_smoke_test(name, version),
                                 why=why)  # fmt: skip
    if decision.what == "blue-green-rejected":
        raise InputError(f"{name} v{info.version} not switched: {decision.why}")
    console.print(
        f"blue-green {name}: v{info.version} live, v{live} ready for rollback for {window_s:g} s"
    )


@bluegreen_app.command("status")
def bluegreen_status(name: NameArg, as_json: JsonOption = False) -> None:
    """Which version is live, which is standing by, and whether a rollback is still possible."""
    store = RolloutStore.default()
    deployment = _deployment(store, name)
    saved = store.load_state(f"blue-green:{name}", "blue-green") if deployment else None
    row = None
    if deployment is not None and saved is not None:
        row = {**saved, "model": name, "can_roll_back": deployment.can_roll_back}
    if as_json:
        typer.echo(json.dumps(row))
        return
    if row is None:
        console.print(f"no blue-green switch of {escape(name)}")
        return
    standby = f"v{row['standby_version']}" if row["can_roll_back"] else "released"
    console.print(f"blue-green {escape(name)}: v{row['live_version']} live, standby {standby}")


@bluegreen_app.command("rollback")
def bluegreen_rollback(name: NameArg, why: WhyOption = "blue-green rolled back by hand") -> None:
    """Switch back to the previous version (only inside the rollback window)."""
    deployment = _deployment(RolloutStore.default(), name)
    if deployment is None:
        raise InputError(f"no blue-green switch of {name!r} to roll back")
    decision = deployment.rollback(why)
    console.print(f"blue-green {escape(name)}: v{decision.version} live again")


@bluegreen_app.command("promote")
def bluegreen_promote(name: NameArg, why: WhyOption) -> None:
    """Make the live version @champion (what `emily run` and a restarted server start from)."""
    deployment = _deployment(RolloutStore.default(), name)
    if deployment is None:
        raise InputError(f"no blue-green switch of {name!r} to promote")
    decision = _registry().promote(
        name, deployment.live_version, alias="champion", who=_who(), why=why
    )
    console.print(f"{escape(name)}@champion: v{decision.previous_version} → v{decision.version}")


@bluegreen_app.command("stop")
def bluegreen_stop(name: NameArg) -> None:
    """Close the rollback window now: keep the live version, release the standby."""
    store = RolloutStore.default()
    saved = store.load_state(f"blue-green:{name}", "blue-green")
    if saved is None:
        raise InputError(f"no blue-green switch of {name!r}")
    store.save_state(f"blue-green:{name}", "blue-green",
                     {**saved, "standby_version": None, "switched_at": None})  # fmt: skip
    console.print(f"blue-green {escape(name)}: v{saved['live_version']} live, standby released")


def register_rollout_commands(models: typer.Typer) -> None:
    """Add ``canary``, ``shadow``, ``ab`` and ``bluegreen`` under ``emily models``."""
    models.add_typer(canary_app, name="canary")
    models.add_typer(shadow_app, name="shadow")
    models.add_typer(ab_app, name="ab")
    models.add_typer(bluegreen_app, name="bluegreen")
