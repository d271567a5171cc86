"""``emily train`` / ``emily sample``: train the cognition tier's GFlowNet and draw hypotheses.

A Typer sub-app; the main CLI mounts it. Deliberate errors are ``EmilyError`` (one red line).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from emily.core.errors import InputError

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


def _build_env_spec(
    env: EnvChoice,
    ndim: int,
    height: int,
    data: Path | None,
    score: ScoreChoice,
    nodes: int,
    seed: int,
    max_parents: int | None,
) -> dict[str, Any]:
    from emily.cognition.data import load_table, synthetic_linear_gaussian
    from emily.cognition.envs import DAGHypotheses, HyperGrid
    from emily.cognition.scores import BDeuScore, BGeScore

    if env is EnvChoice.hypergrid:
        return HyperGrid(ndim, height).spec()
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
    score: Annotated[ScoreChoice, typer.Option(help="DAG score.")] = ScoreChoice.bge,
    nodes: Annotated[int, typer.Option(min=2, help="Variables of synthetic DAG data.")] = 4,
    max_parents: Annotated[int | None, typer.Option(min=0)] = None,
    use_ray: Annotated[bool, typer.Option("--ray", help="Run a seed sweep on Ray.")] = False,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    sweep_seeds: Annotated[int, typer.Option(min=1, help="Seeds in a --ray sweep.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train a GFlowNet on a hypothesis space and save it (or sweep seeds on Ray with --ray)."""
    from emily.cognition.registry import variant_config

    if steps is None and seconds is None:
        steps = 1000
    spec = _build_env_spec(env, ndim, height, data, score, nodes, seed, max_parents)
    base = {"batch_size": batch_size, "hidden": hidden}
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
    summary = net.train(steps=steps, seconds=seconds, progress=progress and not as_json)
    path = net.save(out)
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
    if net.env.enumerable:
        result["l1"], result["jsd"] = net.exact_metrics()
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            console.print(f"{key}: {_fmt(value)}")


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
