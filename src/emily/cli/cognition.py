"""``emily train`` / ``emily sample``: train the cognition tier's GFlowNet and draw hypotheses.

A Typer sub-app; the main CLI mounts it. Deliberate errors are ``EmilyError`` (one red line).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from emily.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from emily.cognition.gflownet import GFlowNet, TrainSummary
    from emily.ops.tracking import TrackedRun

app = typer.Typer(
    name="cognition",
    help="Train the GFlowNet that samples diverse hypotheses, and sample from it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


class EnvChoice(StrEnum):
    """Hypothesis spaces the CLI can build."""

    hypergrid = "hypergrid"
    dag = "dag"


class ScoreChoice(StrEnum):
    """Bayesian scores for DAG hypotheses."""

    bge = "bge"
    bdeu = "bdeu"


def demo_table() -> pd.DataFrame:
    """The demo stream's modelled features (``DEMO_FEATURES``), standardised like the runtime's
    windows, so a model trained here warm-starts ``emily run --demo``'s cognition."""
    import pandas as pd

    from emily.runtime.builder import DEMO_FEATURES
    from emily.runtime.stimuli import demo_dataset

    dataset = demo_dataset()
    frame = pd.DataFrame(dataset.rows, columns=list(dataset.feature_names))[list(DEMO_FEATURES)]
    return (frame - frame.mean()) / frame.std(ddof=0)


def _build_env_spec(
    env: EnvChoice,
    ndim: int,
    height: int,
    data: Path | None,
    score: ScoreChoice,
    nodes: int,
    seed: int,
    max_parents: int | None,
    demo: bool = False,
) -> dict[str, Any]:
    from emily.cognition.data import load_table, synthetic_linear_gaussian
    from emily.cognition.envs import DAGHypotheses, HyperGrid
    from emily.cognition.scores import BDeuScore, BGeScore

    if env is EnvChoice.hypergrid:
        if demo or data is not None:
            raise InputError("--demo and --data describe DAG data: add --env dag")
        return HyperGrid(ndim, height).spec()
    if demo:
        if data is not None or score is not ScoreChoice.bge:
            raise InputError("--demo trains BGe on the demo features: drop --data/--score")
        return DAGHypotheses(BGeScore(demo_table()), max_parents=max_parents).spec()
    if data is not None:
        table = load_table(data)
    elif score is ScoreChoice.bge:
        table, _ = synthetic_linear_gaussian(d=nodes, seed=seed)
    else:
        raise InputError("BDeu needs a discrete data table: pass --data FILE.csv")
    scorer = BGeScore(table) if score is ScoreChoice.bge else BDeuScore(table)
    return DAGHypotheses(scorer, max_parents=max_parents).spec()


@app.command()
def train(
    env: Annotated[EnvChoice, typer.Option(help="Hypothesis space.")] = EnvChoice.hypergrid,
    steps: Annotated[int | None, typer.Option(min=1, help="Optimiser steps.")] = None,
    seconds: Annotated[float | None, typer.Option(min=0.0, help="Wall-time budget.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (first seed of a --ray sweep).")] = 0,
    out: Annotated[Path, typer.Option(help="Checkpoint path.")] = Path("gflownet.pt"),
    variant: Annotated[str, typer.Option(help="GFlowNet variant (v1, v2, mdb).")] = "v1",
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    hidden: Annotated[int, typer.Option(min=1)] = 256,
    ndim: Annotated[int, typer.Option(min=1, help="HyperGrid dimensions.")] = 4,
    height: Annotated[int, typer.Option(min=2, help="HyperGrid height.")] = 8,
    data: Annotated[Path | None, typer.Option(help="CSV data table for --env dag.")] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="--env dag over the demo stream's features (see emily run)."),
    ] = False,
    score: Annotated[ScoreChoice, typer.Option(help="DAG score.")] = ScoreChoice.bge,
    nodes: Annotated[int, typer.Option(min=2, help="Variables of synthetic DAG data.")] = 4,
    max_parents: Annotated[int | None, typer.Option(min=0)] = None,
    eval_every: Annotated[
        int,
        typer.Option(
            min=0,
            help="Log exact L1/JSD every N steps (enumerable spaces); 0: once, after training.",
        ),
    ] = 0,
    use_ray: Annotated[bool, typer.Option("--ray", help="Run a seed sweep on Ray.")] = False,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    sweep_seeds: Annotated[int, typer.Option(min=1, help="Seeds in a --ray sweep.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    track: Annotated[
        bool, typer.Option(help="Track the run in MLflow (params, per-step metrics, model, plots).")
    ] = True,
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = "emily-cognition",
    register: Annotated[
        str | None,
        typer.Option(help="Register the trained model under this name (needs its model card)."),
    ] = None,
    card: Annotated[
        Path | None, typer.Option(help="Model card for --register (default model_cards/NAME.yaml).")
    ] = None,
) -> None:
    """Train a GFlowNet on a hypothesis space, track it in MLflow and save it.

    The run (parameters, loss / log Z / diversity per step, L1 and JSD where exact, the model,
    a loss curve and the hypothesis distribution) lands in MLflow under EMILY_HOME (or
    EMILY_MLFLOW_URI); `emily ui` shows it. --register NAME then registers the model with its
    card, ready for `emily models promote NAME VERSION`. --ray sweeps seeds on Ray instead.
    """
    from emily.cognition.registry import variant_config

    if steps is None and seconds is None:
        steps = 1000
    if register is not None and not track:
        raise InputError("--register needs a tracked run: drop --no-track")
    card_spec = None
    if register is not None:  # a broken card fails here, before minutes of training
        from emily.ops.registry import ModelCardError, load_card

        card_spec = load_card(card or Path("model_cards") / f"{register}.yaml")
        if card_spec.name != register:
            raise ModelCardError(f"model card is for {card_spec.name!r}, not for {register!r}")
    spec = _build_env_spec(env, ndim, height, data, score, nodes, seed, max_parents, demo)
    base = {"batch_size": batch_size, "hidden": hidden, "eval_every": eval_every}
    if use_ray:
        from emily.cognition.distributed import sweep

        configs = [
            variant_config(variant, seed=s, **base).model_dump()
            for s in range(seed, seed + sweep_seeds)
        ]
        results = sweep(spec, configs, steps=steps, seconds=seconds, address=ray_address)
        rows = [{k: v for k, v in r.items() if k != "config"} | {"seed": r["config"]["seed"]}
                for r in results]  # fmt: skip
        if as_json:
            typer.echo(json.dumps({"sweep": rows}))
        else:
            table = Table(title=f"Ray sweep: {env.value}, variant {variant}")
            for col in ("seed", "steps", "seconds", "final_loss", "l1", "jsd"):
                table.add_column(col)
            for r in rows:
                table.add_row(*(_fmt(r.get(c)) for c in ("seed", "steps", "seconds",
                                                        "final_loss", "l1", "jsd")))  # fmt: skip
            console.print(table)
        return

    from emily.cognition.envs import make_env
    from emily.cognition.gflownet import GFlowNet

    net = GFlowNet(make_env(spec), variant_config(variant, seed=seed, **base))
    show = progress and not as_json
    run = None
    if track:
        run, summary = _train_tracked(net, steps, seconds, show, experiment, env, spec, out)
    else:
        summary = net.train(steps=steps, seconds=seconds, progress=show)
        net.save(out)
    path = out
    result: dict[str, Any] = {
        "checkpoint": str(path),
        "env": env.value,
        "variant": variant,
        "steps": summary.steps,
        "trajectories": summary.trajectories,
        "seconds": round(summary.seconds, 3),
        "final_loss": summary.final_loss,
        "log_z": summary.log_z,
    }
    if run is not None:
        result |= {k: run.metrics[k] for k in ("l1", "jsd") if k in run.metrics}
    elif net.env.enumerable:
        result["l1"], result["jsd"] = net.exact_metrics()
    if run is not None:
        result["run_id"], result["model_uri"] = run.run_id, run.model_uri
    if register is not None and run is not None:
        from emily.cli.ops_commands import current_user
        from emily.ops.registry import ModelRegistry

        assert card_spec is not None
        info = ModelRegistry().register(
            run_id=run.run_id, name=register, card=card_spec, who=current_user(), why="emily train"
        )
        result["registered"] = f"{register} v{info.version}"
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            console.print(f"{key}: {_fmt(value)}")


def _train_tracked(
    net: GFlowNet,
    steps: int | None,
    seconds: float | None,
    progress: bool,
    experiment: str,
    env: EnvChoice,
    spec: dict[str, Any],
    out: Path,
) -> tuple[TrackedRun, TrainSummary]:
    """Train inside an MLflow run; the model and a 1,000-sample hypothesis plot are logged.

    The checkpoint is written to ``out`` as soon as training ends, before anything else is
    logged, so a tracking store that fails afterwards does not cost the trained model.
    """
    from emily.ops.tracking import TrainingOutput, track_training

    params = {
        **net.config.model_dump(),
        "env": env.value,
        "steps": steps,
        "seconds": seconds,
        **{f"env_{k}": v for k, v in spec.items() if isinstance(v, int | float | str)},
    }
    if "score" in spec:
        params["env_columns"] = ",".join(spec["score"].get("columns", []))
    summaries: list[TrainSummary] = []

    def trainer(callback: Callable[..., None]) -> TrainingOutput:
        summary = net.train(steps=steps, seconds=seconds, progress=progress, callbacks=[callback])
        summaries.append(summary)
        net.save(out)
        if net.env.enumerable:  # the exact L1/JSD of the final policy, as the last point
            l1, jsd = net.exact_metrics()
            callback(summary.steps, {"l1": l1, "jsd": jsd})
        sample = net.generate(1000)
        return TrainingOutput(model=net, hypotheses=[str(d) for d in sample.descriptions])

    run = track_training(trainer, params, experiment=experiment, run_name=f"train-{env.value}")
    return run, summaries[0]


@app.command()
def sample(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoint written by `train`.")],
    n: Annotated[int, typer.Option("-n", "--num-samples", min=1)] = 1000,
    top: Annotated[int, typer.Option(min=1, help="Hypotheses to list.")] = 5,
    threshold: Annotated[float, typer.Option(help="Mode-collapse threshold.")] = 0.3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Draw hypotheses from a trained GFlowNet: the most frequent, their mass, diversity."""
    import torch

    from emily.cognition.gflownet import GFlowNet
    from emily.cognition.metrics import detect_mode_collapse

    net = GFlowNet.load(checkpoint)
    samples = net.generate(n)
    keys, counts = torch.unique(samples.keys, return_counts=True)
    order = torch.argsort(counts, descending=True)[:top]
    first = {int(k): i for i, k in reversed(list(enumerate(samples.keys.tolist())))}
    hypotheses = []
    for idx in order.tolist():
        i = first[int(keys[idx])]
        hypotheses.append(
            {
                "hypothesis": samples.descriptions[i],
                "frequency": int(counts[idx]) / n,
                "log_reward": float(samples.log_reward[i]),
            }
        )
    collapse = detect_mode_collapse(samples.embeddings, threshold)
    result = {
        "samples": n,
        "distinct": int(keys.numel()),
        "diversity": collapse.diversity,
        "mode_collapse": collapse.collapsed,
        "top": hypotheses,
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"{n} samples, {result['distinct']} distinct")
    for col in ("hypothesis", "frequency", "log R"):
        table.add_column(col)
    for h in hypotheses:
        table.add_row(str(h["hypothesis"]), f"{h['frequency']:.3f}", f"{h['log_reward']:.3f}")
    console.print(table)
    flag = "[red]yes[/red]" if collapse.collapsed else "no"
    console.print(f"diversity {collapse.diversity:.3f} (mode collapse below {threshold}: {flag})")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
