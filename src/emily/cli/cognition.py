"""``emily train`` / ``emily sample``: learn a posterior over hypotheses, and read it.

A Typer sub-app; the main CLI mounts it. Deliberate errors are ``EmilyError`` (one red line).

For causal structure (``--env dag``) a user brings a CSV: ``train`` reads it (dropping a pandas
index with a note), standardises it for BGe or encodes categories for BDeu, builds the score
with its hyper-parameters and a structure prior, and trains a GFlowNet or runs structure MCMC;
``sample`` turns the checkpoint into what one reads off a posterior over DAGs: edge marginals,
the top graphs and equivalence classes with their mass, files (CSV/JSON, GraphML, DOT, PNG), and
E-SHD / AUROC against a known graph.

``--env`` takes any space of the hypothesis-space registry (``emily.cognition.envs.registry``):
its choices, help, default variant, which flags a space takes and which reference its plots are
drawn against are read from there, so a new space is one registration, not an edit here.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emily.cognition import (
    HypothesisSpace,
    SpaceOptions,
    hypothesis_space,
    space_names,
    structure_spaces,
)
from emily.core.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from emily.cognition import DecomposableScore, GFlowNet, StructureMCMC, TrainSummary
    from emily.ops.tracking import TrackedRun

app = typer.Typer(
    name="cognition",
    help="Train the GFlowNet that samples diverse hypotheses, and sample from it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

TRAIN_SAMPLES = 1000
"""Graphs drawn after training for the tracked plots (hypothesis distribution, edge marginals)."""
EDGES_SHOWN = 10
"""Most probable edges listed by ``emily sample`` (all of them are in --marginals and --json)."""
MAX_HIDDEN = 4096
"""Widest --hidden: a 4096-unit layer is 16.8 M weights (67 MB), already past what these
hypothesis spaces use (64 to 256); 10^8 units would ask for 10^16 weights and die allocating."""


def space_name(value: str) -> str:
    """``--env``'s parser: a name of the hypothesis-space registry as it is when the option is
    read, so a space registered after this module was imported (by a script) is valid too."""
    if value not in space_names():
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, space_names()))}")
    return value


def _env_help() -> str:
    """``--env``'s help: each registered space with its one-line summary."""
    spaces = (hypothesis_space(name) for name in space_names())
    return "Hypothesis space: " + "; ".join(f"{s.name}, {s.summary}" for s in spaces) + "."


class ScoreChoice(StrEnum):
    """Bayesian scores for DAG hypotheses."""

    bge = "bge"
    bdeu = "bdeu"


class PriorChoice(StrEnum):
    """Structure priors over DAGs (all modular: a fixed log-prior cost per parent)."""

    uniform = "uniform"
    edge = "edge"
    er = "er"


class SamplerChoice(StrEnum):
    """How the posterior over DAGs is sampled."""

    gflownet = "gflownet"
    mcmc = "mcmc"


def er_edge_penalty(expected_parents: float, d: int) -> float:
    """The per-parent log-prior penalty of an Erdős–Rényi prior with ``expected_parents``.

    Derivation: each of a node's ``d - 1`` possible parents is a parent independently with
    probability ``p = expected_parents / (d - 1)``, so a graph with ``|E|`` edges out of ``M``
    possible ones has ``log p(G) = |E| log p + (M - |E|) log(1 - p)
    = M log(1 - p) + |E| log(p / (1 - p))``. ``M log(1 - p)`` is the same for every graph (it
    cancels in the posterior), so each parent adds ``log(p / (1 - p))`` to the log-prior. The
    scores *subtract* ``edge_penalty`` per parent, hence ``edge_penalty = log((1 - p) / p)``:
    positive (edges cost) for ``p < 1/2``, zero at ``p = 1/2`` (the uniform prior), negative
    (edges are favoured) above, which the scores refuse, so ``expected_parents`` is capped at
    ``(d - 1) / 2``.
    """
    if d < 2:
        raise InputError(f"an Erdős–Rényi prior needs at least 2 variables, got {d}")
    if not math.isfinite(expected_parents) or expected_parents <= 0:
        raise InputError(f"--expected-parents must be > 0, got {expected_parents!r}")
    p = expected_parents / (d - 1)
    if p > 0.5:
        raise InputError(
            f"--expected-parents {expected_parents:g} over {d} variables gives p = {p:.3g} per "
            f"possible parent, a prior that favours edges; expected at most (d - 1) / 2 = "
            f"{(d - 1) / 2:g} (a denser prior needs a negative edge penalty, not supported)"
        )
    return math.log((1 - p) / p)


def demo_table() -> pd.DataFrame:
    """The demo stream's modelled features (``DEMO_FEATURES``), standardised like the runtime's
    windows, so a model trained here warm-starts ``emily run --demo``'s cognition."""
    import pandas as pd

    from emily.runtime import DEMO_FEATURES, demo_dataset

    dataset = demo_dataset()
    frame = pd.DataFrame(dataset.rows, columns=list(dataset.feature_names))[list(DEMO_FEATURES)]
    return (frame - frame.mean()) / frame.std(ddof=0)


@dataclass
class ScoreOptions:
    """The score and prior flags of ``emily train`` (``None``: not given on the command line)."""

    score: ScoreChoice = ScoreChoice.bge
    alpha_mu: float | None = None
    alpha_w: float | None = None
    ess: float | None = None
    prior: PriorChoice = PriorChoice.uniform
    edge_penalty: float | None = None
    expected_parents: float | None = None
    standardize: bool | None = None
    drop: list[str] = field(default_factory=list)

    def given_for_dags(self) -> list[str]:
        """The DAG-only flags that were given (a HyperGrid run refuses them)."""
        flags = {
            "--alpha-mu": self.alpha_mu,
            "--alpha-w": self.alpha_w,
            "--ess": self.ess,
            "--edge-penalty": self.edge_penalty,
            "--expected-parents": self.expected_parents,
            "--standardize/--no-standardize": self.standardize,
        }
        given = [k for k, v in flags.items() if v is not None]
        if self.prior is not PriorChoice.uniform:
            given.append("--prior")
        if self.score is not ScoreChoice.bge:
            given.append("--score")
        if self.drop:
            given.append("--drop")
        return given


@dataclass
class StructureSetup:
    """A DAG score built from the user's flags, and what building it did (to tell them)."""

    score: DecomposableScore
    prior: str
    edge_penalty: float
    standardized: bool | None
    notes: list[str]


def _build_score(
    opts: ScoreOptions, data: Path | None, demo: bool, nodes: int, seed: int
) -> StructureSetup:
    """Read (or make) the table, prepare it for the score, and build the score with its prior."""
    from emily.cognition import (
        BDeuScore,
        BGeScore,
        prepare_for_bdeu,
        prepare_for_bge,
        read_table,
        synthetic_linear_gaussian,
    )

    bge = opts.score is ScoreChoice.bge
    if bge and opts.ess is not None:
        raise InputError("--ess is BDeu's equivalent sample size: add --score bdeu or drop it")
    if not bge and (opts.alpha_mu is not None or opts.alpha_w is not None):
        raise InputError("--alpha-mu/--alpha-w are BGe's hyper-parameters: drop them for BDeu")
    if not bge and opts.standardize is not None:
        raise InputError("--standardize/--no-standardize apply to BGe; BDeu reads categories")
    if opts.edge_penalty is not None and opts.prior is not PriorChoice.edge:
        raise InputError("--edge-penalty sets the edge prior's cost: add --prior edge")
    if opts.expected_parents is not None and opts.prior is not PriorChoice.er:
        raise InputError("--expected-parents sets the Erdős–Rényi prior: add --prior er")
    notes: list[str] = []
    standardized: bool | None = None
    if demo:
        if data is not None or not bge or opts.drop:
            raise InputError("--demo trains BGe on the demo features: drop --data/--score/--drop")
        if opts.standardize is False:
            raise InputError("--demo's features are standardised already: drop --no-standardize")
        table = demo_table()
        standardized = True
        notes.append("the demo features are standardised (mean 0, standard deviation 1)")
    else:
        if data is not None:
            loaded = read_table(data, opts.drop)
            raw, notes = loaded.frame, list(loaded.notes)
        elif bge:
            if opts.drop:
                raise InputError("--drop names columns of --data FILE.csv: add --data")
            raw, _ = synthetic_linear_gaussian(d=nodes, seed=seed)
            notes.append(f"no --data: {nodes} variables of synthetic linear-Gaussian data")
        else:
            raise InputError("BDeu needs a discrete data table: pass --data FILE.csv")
        if bge:
            table, prep = prepare_for_bge(raw, standardize=opts.standardize is not False)
            standardized = prep.standardized
        else:
            table, prep = prepare_for_bdeu(raw)
        notes.extend(prep.notes)
    d = table.shape[1]
    if opts.prior is PriorChoice.edge:
        penalty = 1.0 if opts.edge_penalty is None else opts.edge_penalty
        if not math.isfinite(penalty) or penalty < 0:
            raise InputError(f"--edge-penalty must be finite and >= 0, got {penalty!r}")
    elif opts.prior is PriorChoice.er:
        expected = 1.0 if opts.expected_parents is None else opts.expected_parents
        penalty = er_edge_penalty(expected, d)
        notes.append(
            f"Erdős–Rényi prior with {expected:g} expected parents per node: each parent costs "
            f"log((1 - p) / p) = {penalty:.4g} nats of log-prior (p = {expected / (d - 1):.3g})"
        )
    else:
        penalty = 0.0
    if bge:
        alpha_mu = 1.0 if opts.alpha_mu is None else opts.alpha_mu
        score: DecomposableScore = BGeScore(table, alpha_mu, opts.alpha_w, penalty)
    else:
        score = BDeuScore(table, 1.0 if opts.ess is None else opts.ess, penalty)
    return StructureSetup(score, opts.prior.value, penalty, standardized, notes)


@app.command()
def train(
    env: Annotated[
        str,
        typer.Option(parser=space_name, metavar=f"<{'|'.join(space_names())}>", help=_env_help()),
    ] = "hypergrid",
    steps: Annotated[
        int | None,
        typer.Option(
            min=1, help="Optimiser steps (GFlowNet) or burn-in steps per chain (--sampler mcmc)."
        ),
    ] = None,
    seconds: Annotated[float | None, typer.Option(min=0.0, help="Wall-time budget.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (first seed of a --ray sweep).")] = 0,
    out: Annotated[
        Path, typer.Option(help="Checkpoint path (the GFlowNet, or the MCMC chains).")
    ] = Path("gflownet.pt"),
    variant: Annotated[
        str | None,
        typer.Option(
            help="GFlowNet variant (v1, v2, mdb, ...); default: the one the registry picks for "
            "the hypothesis space."
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Trajectories per step (default: the variant's).")
    ] = None,
    hidden: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_HIDDEN,
            help="Hidden units (default: the variant's; at most 4096).",
        ),
    ] = None,
    ndim: Annotated[int, typer.Option(min=1, help="HyperGrid dimensions.")] = 4,
    height: Annotated[int, typer.Option(min=2, help="HyperGrid height.")] = 8,
    data: Annotated[
        Path | None,
        typer.Option(
            help="CSV table for --env dag: a header of variable names, one row per sample. A "
            "pandas index column is dropped with a note."
        ),
    ] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option(help="Drop this column of --data (repeat for several): an id, a label."),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="--env dag over the demo stream's features (see emily run)."),
    ] = False,
    score: Annotated[
        ScoreChoice,
        typer.Option(help="DAG score: bge (continuous, linear-Gaussian), bdeu (categorical)."),
    ] = ScoreChoice.bge,
    alpha_mu: Annotated[
        float | None,
        typer.Option(min=0.0, help="BGe: prior pseudo-count of the mean (default 1)."),
    ] = None,
    alpha_w: Annotated[
        float | None,
        typer.Option(
            help="BGe: Wishart degrees of freedom, > d + 1 (default d + 2: the weakest proper)."
        ),
    ] = None,
    ess: Annotated[
        float | None,
        typer.Option(help="BDeu: equivalent sample size (default 1; larger: denser graphs)."),
    ] = None,
    prior: Annotated[
        PriorChoice,
        typer.Option(
            help="Structure prior: uniform over DAGs; edge (each parent costs --edge-penalty "
            "nats); er (Erdős–Rényi with --expected-parents per node)."
        ),
    ] = PriorChoice.uniform,
    edge_penalty: Annotated[
        float | None,
        typer.Option(help="--prior edge: log-prior cost of each parent, >= 0 (default 1)."),
    ] = None,
    expected_parents: Annotated[
        float | None,
        typer.Option(help="--prior er: expected parents per node (default 1)."),
    ] = None,
    standardize: Annotated[
        bool | None,
        typer.Option(
            "--standardize/--no-standardize",
            help="BGe: scale each column to mean 0, sd 1 first (the default), so the graphs do "
            "not depend on the columns' units.",
            show_default=False,
        ),
    ] = None,
    sampler: Annotated[
        SamplerChoice,
        typer.Option(help="--env dag: train a GFlowNet, or run structure MCMC (MC³) chains."),
    ] = SamplerChoice.gflownet,
    chains: Annotated[
        int | None, typer.Option(min=1, help="--sampler mcmc: parallel chains (default 4).")
    ] = None,
    betas: Annotated[
        str | None,
        typer.Option(
            help="--sampler mcmc: inverse temperatures of a tempered ladder per chain, from 1 "
            "down, comma-separated (e.g. 1,0.9,0.8,0.7: parallel tempering, which crosses "
            "between modes plain chains stay in; each rung costs as much as a chain). "
            "Default: 1, plain MC³.",
            show_default=False,
        ),
    ] = None,
    nodes: Annotated[int, typer.Option(min=2, help="Variables of synthetic DAG data.")] = 4,
    max_parents: Annotated[
        int | None, typer.Option(min=0, help="At most this many parents per variable.")
    ] = None,
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
        Path | None,
        typer.Option(
            help="Model card for --register (default ./model_cards/NAME.yaml, else "
            "EMILY_HOME/model_cards/NAME.yaml, which `emily init` writes)."
        ),
    ] = None,
) -> None:
    """Train a GFlowNet (or run MCMC) on a hypothesis space, track it in MLflow and save it.

    The run (parameters, loss / log Z / diversity per step, L1 and JSD where exact, the model,
    a loss curve and the hypothesis distribution; for DAGs also the edge-marginal heat map, the
    top graphs and the marginal matrix) lands in MLflow under EMILY_HOME (or EMILY_MLFLOW_URI);
    `emily ui` shows it. --register NAME then registers the model with its card, ready for
    `emily models promote NAME VERSION`. --ray sweeps seeds on Ray instead.

    Structure learning from your own table: `emily train --env dag --data my.csv`, then
    `emily sample gflownet.pt --marginals edges.csv --plot edges.png`.
    """
    from emily.cognition import variant_config

    opts = ScoreOptions(
        score, alpha_mu, alpha_w, ess, prior, edge_penalty, expected_parents, standardize,
        list(drop or []),
    )  # fmt: skip
    space = hypothesis_space(env)
    if not space.structure:
        dag_only = opts.given_for_dags()
        takers = " or ".join(f"--env {name}" for name in structure_spaces())
        if demo or data is not None:
            raise InputError(f"--demo and --data describe DAG data: add {takers}")
        if sampler is not SamplerChoice.gflownet:
            dag_only.append("--sampler")
        if dag_only:
            raise InputError(f"{', '.join(dag_only)} apply to {takers} only")
    if sampler is SamplerChoice.mcmc:
        gflownet_only = {
            "--ray": use_ray, "--register": register, "--variant": variant,
            "--hidden": hidden, "--batch-size": batch_size, "--eval-every": eval_every or None,
        }  # fmt: skip
        given = [flag for flag, value in gflownet_only.items() if value not in (None, False)]
        if given:
            raise InputError(f"{', '.join(given)} apply to GFlowNets: drop them for --sampler mcmc")
    elif chains is not None or betas is not None:
        raise InputError("--chains and --betas set MCMC chains: add --sampler mcmc")
    if register is not None and not track:
        raise InputError("--register needs a tracked run: drop --no-track")
    card_spec = None
    if register is not None:  # a broken card fails here, before minutes of training
        from emily.core.settings import load_settings
        from emily.ops.registry import ModelCardError, default_card_path, load_card

        card_spec = load_card(card or default_card_path(register, load_settings()))
        if card_spec.name != register:
            raise ModelCardError(f"model card is for {card_spec.name!r}, not for {register!r}")
    setup: StructureSetup | None = None
    if space.structure:
        setup = _build_score(opts, data, demo, nodes, seed)
        if not as_json:
            for note in setup.notes:
                console.print(f"note: {escape(note)}", highlight=False)
        if sampler is SamplerChoice.mcmc:
            ladder = _parse_betas(betas)
            _train_mcmc(space.name, setup, max_parents, chains or 4, ladder, seed, steps, seconds,
                        out, progress, as_json, track, experiment)  # fmt: skip
            return
    data_score = None if setup is None else setup.score
    options = SpaceOptions(ndim, height, nodes, max_parents, seed, data_score)
    spec = space.from_options(options).spec()
    if steps is None and seconds is None:
        steps = 1000
    variant = variant or space.default_variant
    base: dict[str, Any] = {"eval_every": eval_every}
    base |= {k: v for k, v in (("batch_size", batch_size), ("hidden", hidden)) if v is not None}
    if use_ray:
        from emily.cognition import sweep

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
            table = Table(title=f"Ray sweep: {space.name}, variant {variant}")
            for col in ("seed", "steps", "seconds", "final_loss", "l1", "jsd"):
                table.add_column(col)
            for r in rows:
                table.add_row(*(_fmt(r.get(c)) for c in ("seed", "steps", "seconds",
                                                        "final_loss", "l1", "jsd")))  # fmt: skip
            console.print(table)
        return

    from emily.cognition import GFlowNet, make_env

    net = GFlowNet(make_env(spec), variant_config(variant, seed=seed, **base))
    show = progress and not as_json
    run = None
    if track:
        run, summary = _train_tracked(net, steps, seconds, show, experiment, space, spec, out)
    else:
        summary = net.train(steps=steps, seconds=seconds, progress=show)
        net.save(out)
    result: dict[str, Any] = {
        "checkpoint": str(out),
        "env": space.name,
        "variant": variant,
        "steps": summary.steps,
        "trajectories": summary.trajectories,
        "seconds": round(summary.seconds, 3),
        "final_loss": summary.final_loss,
        "log_z": summary.log_z,
    }
    if setup is not None:
        result |= _setup_fields(setup, "gflownet")
    if run is not None:
        result |= {k: run.metrics[k] for k in ("l1", "jsd") if k in run.metrics}
    elif net.env.enumerable:
        result["l1"], result["jsd"] = net.exact_metrics()
    if run is not None:
        result["run_id"], result["model_uri"] = run.run_id, run.model_uri
        result["run_name"], result["run_url"] = run.run_name, run.url
    if register is not None and run is not None:
        from emily.cli.ops_commands import current_user
        from emily.ops.registry import ModelRegistry

        assert card_spec is not None
        info = ModelRegistry().register(
            run_id=run.run_id, name=register, card=card_spec, who=current_user(), why="emily train"
        )
        result["registered"] = f"{register} v{info.version}"
    _print_result(result, as_json)


def _setup_fields(setup: StructureSetup, sampler: str) -> dict[str, Any]:
    """What ``train`` reports about the score it built (and, in --json, the notes)."""
    score = setup.score
    fields: dict[str, Any] = {
        "sampler": sampler,
        "score": score.spec()["kind"],
        "variables": list(getattr(score, "columns", [])),
        "rows": score.n_samples,
        "prior": setup.prior,
        "edge_penalty": setup.edge_penalty,
    }
    if setup.standardized is not None:
        fields["standardized"] = setup.standardized
    fields["notes"] = setup.notes
    return fields


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        if key == "notes":
            continue  # printed before training, as they were found
        shown = ", ".join(map(str, value)) if isinstance(value, list) else _fmt(value)
        if key in ("l1", "jsd") and isinstance(value, float):
            from emily.ops.tracking import describe_metric

            shown = describe_metric(key, value)  # "1.962 of 2.0 max (...; 0 = ...)"
        elif key == "run_url" and value.startswith("http://127.0.0.1"):
            shown += "  (start the UI with `emily ui`)"
        console.print(f"{key}: {escape(shown)}", highlight=False)


def _parse_betas(text: str | None) -> tuple[float, ...]:
    """``--betas``: comma-separated numbers (StructureMCMC checks the ladder itself)."""
    if text is None:
        return (1.0,)
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(
            f"--betas must be comma-separated numbers from 1 down, e.g. 1,0.9,0.8,0.7; got {text!r}"
        ) from None


def _train_mcmc(
    env: str,
    setup: StructureSetup,
    max_parents: int | None,
    chains: int,
    betas: tuple[float, ...],
    seed: int,
    steps: int | None,
    seconds: float | None,
    out: Path,
    progress: bool,
    as_json: bool,
    track: bool,
    experiment: str,
) -> None:
    """Run structure MCMC for the budget, save its chains as the checkpoint, report the run.

    "Training" an MCMC sampler is burning its chains in: ``--steps`` is the burn-in per chain
    (the default: a number of sweeps that grows with ``d^2``), ``--seconds`` a wall budget;
    ``TRAIN_SAMPLES`` graphs are kept for the tracked plots. ``emily sample`` continues the
    saved chains from where they stopped.
    """
    from emily.cognition import StructureMCMC

    mcmc = StructureMCMC(setup.score, max_parents, chains=chains, betas=betas, seed=seed)
    show = progress and not as_json
    kept: list[Any] = []

    def run_chains() -> Any:
        if seconds is not None:
            drawn = mcmc.sample(TRAIN_SAMPLES, seconds=seconds, progress=show)
        else:
            drawn = mcmc.sample(TRAIN_SAMPLES, burn_in=steps, progress=show)
        mcmc.save(out)
        kept.append(drawn)
        return drawn

    run: TrackedRun | None = None
    if track:
        from emily.ops.tracking import TrainingOutput, hypothesis_label, track_training

        params = {
            "sampler": "mcmc",
            "chains": chains,
            "betas": ",".join(f"{b:g}" for b in betas),
            "seed": seed,
            "max_parents": max_parents,
            "steps": steps,
            "seconds": seconds,
            **_score_params(setup),
        }

        def trainer(callback: Callable[..., None]) -> TrainingOutput:
            drawn = run_chains()
            callback(drawn.steps, {"acceptance_rate": drawn.acceptance_rate})
            described = [hypothesis_label(_edge_names(a, drawn.columns)) for a in drawn.adjacency]
            return TrainingOutput(model=mcmc, hypotheses=described)

        run = track_training(
            trainer, params, experiment=experiment, run_name="mcmc-dag", unique_name=True
        )
    else:
        run_chains()
    drawn = kept[0]
    result: dict[str, Any] = {
        "checkpoint": str(out),
        "env": env,
        "chains": chains,
        "steps": drawn.steps,
        "acceptance_rate": round(drawn.acceptance_rate, 4),
        "seconds": round(drawn.seconds, 3),
        "samples_kept": len(drawn.adjacency),
        **_setup_fields(setup, "mcmc"),
    }
    if len(betas) > 1:  # a ladder's health: a pair of rungs that never swaps splits it
        result["betas"] = list(betas)
        result["swap_rates"] = [round(rate, 3) for rate in mcmc.swap_rates]
    if run is not None:
        result["run_id"], result["model_uri"] = run.run_id, run.model_uri
        result["run_name"], result["run_url"] = run.run_name, run.url
        _log_structure(run.run_id, drawn.adjacency, drawn.log_score, drawn.columns)
    _print_result(result, as_json)


def _score_params(setup: StructureSetup) -> dict[str, Any]:
    """The score's hyper-parameters and prior as MLflow params."""
    spec = setup.score.spec()
    params: dict[str, Any] = {
        f"score_{k}": v for k, v in spec.items() if isinstance(v, int | float | str)
    }
    params["env_columns"] = ",".join(spec.get("columns", []))
    params |= {"prior": setup.prior, "standardized": setup.standardized}
    return params


def _edge_names(adjacency: Any, columns: list[str]) -> list[tuple[str, str]]:
    import numpy as np

    rows, cols = np.nonzero(np.asarray(adjacency))
    return [(columns[i], columns[j]) for i, j in zip(rows.tolist(), cols.tolist(), strict=True)]


def _log_structure(run_id: str, adjacency: Any, log_scores: Any, columns: list[str]) -> None:
    """Log the edge-marginal matrix (CSV), its heat map and the top graphs (PNG) to the run.

    After the run: ``track_training`` logs the model and its generic plots, and these belong to
    DAGs only. A store that fails here costs the plots, not the saved checkpoint, so the
    failure is printed and the command still succeeds.
    """
    from mlflow.exceptions import MlflowException

    from emily.cognition import (
        edge_marginals,
        plot_marginals,
        plot_top_graphs,
        top_graphs,
        write_marginals_csv,
    )
    from emily.ops.tracking import make_client, tracking_config

    marginals = edge_marginals(adjacency)
    top = top_graphs(adjacency, log_scores, k=6)
    try:
        with tempfile.TemporaryDirectory(prefix="emily-structure-") as tmp:
            folder = Path(tmp)
            write_marginals_csv(marginals, columns, folder / "edge_marginals.csv")
            plot_marginals(marginals, columns, folder / "edge_marginals.png")
            plot_top_graphs(top, columns, folder / "top_graphs.png")
            make_client(tracking_config()).log_artifacts(run_id, str(folder), "structure")
    except (MlflowException, OSError) as exc:
        console.print(f"[yellow]warning:[/yellow] structure plots not logged: {escape(str(exc))}")


def _train_tracked(
    net: GFlowNet,
    steps: int | None,
    seconds: float | None,
    progress: bool,
    experiment: str,
    space: HypothesisSpace,
    spec: dict[str, Any],
    out: Path,
) -> tuple[TrackedRun, TrainSummary]:
    """Train inside an MLflow run; the model and a 1,000-sample hypothesis plot are logged, and
    for DAGs the edge marginals and top graphs of those samples after `emily sample`'s default
    polish (see :func:`_log_structure`); the hypothesis plot shows the policy's own draws.

    The model is logged once, as an MLflow Model (pyfunc, with signature and input example): the
    run's MLflow views show it at once, ``--register`` points a version at it, and the runtime
    warm-starts from the checkpoint inside it.

    The checkpoint is written to ``out`` as soon as training ends, before anything else is
    logged, so a tracking store that fails afterwards does not cost the trained model.
    """
    from emily.ops.tracking import TrainingOutput, hypothesis_label, track_training

    params = {
        **net.config.model_dump(),
        "env": space.name,
        "steps": steps,
        "seconds": seconds,
        **{f"env_{k}": v for k, v in spec.items() if isinstance(v, int | float | str)},
    }
    if "score" in spec:
        params["env_columns"] = ",".join(spec["score"].get("columns", []))
        params |= {
            f"score_{k}": v for k, v in spec["score"].items() if isinstance(v, int | float | str)
        }
    summaries: list[TrainSummary] = []
    drawn: list[tuple[Any, Any]] = []

    def trainer(callback: Callable[..., None]) -> TrainingOutput:
        summary = net.train(steps=steps, seconds=seconds, progress=progress, callbacks=[callback])
        summaries.append(summary)
        net.save(out)
        if net.env.enumerable:  # the exact L1/JSD of the final policy, as the last point
            l1, jsd = net.exact_metrics()
            callback(summary.steps, {"l1": l1, "jsd": jsd})
        sample = net.generate(TRAIN_SAMPLES)
        if space.structure:  # the marginals and top graphs as `emily sample` gives them
            from emily.cognition import polish_samples

            polished, _ = polish_samples(net.env, sample, _default_polish(net))  # type: ignore[arg-type]
            drawn.append(_dag_draws(net, polished))
        labels = [hypothesis_label(d) for d in sample.descriptions]
        if not net.env.enumerable:
            reference = _reference_target(space, net, TRAIN_SAMPLES)
            if reference is None:  # no second sampler over this space
                return TrainingOutput(model=net, hypotheses=labels)
            return TrainingOutput(
                model=net, hypotheses=labels, target=reference, target_name=space.reference_name
            )
        exact = net.exact  # the target itself: every hypothesis and its true probability
        every = [hypothesis_label(d) for d in net.env.describe(exact.states)]
        target: dict[Hashable, float] = dict(zip(every, exact.target.tolist(), strict=True))
        return TrainingOutput(model=net, hypotheses=labels, target=target, target_name="exact")

    from emily.ops.registry import log_trained_gflownet

    name = f"{net.config.variant}-{space.name}"  # + the run id's first 8 hex digits
    run = track_training(
        trainer,
        params,
        experiment=experiment,
        run_name=name,
        unique_name=True,
        log_model=log_trained_gflownet,
    )
    if drawn:
        columns = list(getattr(net.env, "columns", []))
        _log_structure(run.run_id, drawn[0][0], drawn[0][1], columns)
    return run, summaries[0]


def _reference_target(
    space: HypothesisSpace, net: GFlowNet, n: int
) -> dict[Hashable, float] | None:
    """Where no exact target exists, ``n`` hypotheses of the space's reference sampler (structure
    MCMC for DAGs, on the env's own score, prior and ``max_parents``) as the plot's target.

    Their frequencies, labelled the way the GFlowNet's samples are (through ``env.describe``),
    are drawn as the reference markers; seeded from the net's seed, so a rerun draws the same
    reference. ``None`` for a space with no reference sampler.
    """
    from emily.ops.tracking import hypothesis_label

    if space.reference is None:
        return None
    described = space.reference(net.env, n, net.config.seed)
    counts = Counter(hypothesis_label(d) for d in described)
    return {label: count / n for label, count in counts.items()}


def _dag_draws(net: GFlowNet, sample: Any) -> tuple[np.ndarray, np.ndarray]:
    """Adjacency ``[N, d, d]`` and full log scores ``log p(D | G) + log p(G)`` of DAG samples.

    The GFlowNet's log-reward is the score minus the empty graph's; adding that constant back
    puts GFlowNet and MCMC samples on one scale.
    """
    import numpy as np

    adjacency = sample.states["adj"].detach().cpu().numpy().astype(bool)
    offset = float(getattr(net.env, "empty_score", 0.0))
    scores = sample.log_reward.detach().double().cpu().numpy() + offset
    return adjacency, np.asarray(scores, dtype=np.float64)


@dataclass
class _Draws:
    """Samples from either kind of checkpoint, in the form ``sample`` reports them."""

    sampler: str
    keys: list[Any]
    descriptions: list[Any]
    embeddings: Any  # torch.Tensor [N, features] in [0, 1]
    log_rewards: list[float]
    adjacency: np.ndarray | None = None  # DAG samples only
    log_scores: np.ndarray | None = None
    columns: list[str] = field(default_factory=list)


def _checkpoint_format(path: Path) -> str:
    """The ``format`` a checkpoint file declares (GFlowNet or MCMC), read before loading it."""
    from emily.cognition import read_checkpoint

    blob, _ = read_checkpoint(path, "")
    fmt = blob.get("format")
    if not isinstance(fmt, str):
        raise InputError(f"{path} is neither a GFlowNet nor an MCMC checkpoint of `emily train`")
    return fmt


def _default_polish(net: GFlowNet) -> int:
    """`emily sample`'s polish steps for a DAG GFlowNet (``polish.STEPS_PER_VARIABLE`` each)."""
    from emily.cognition import default_polish_steps

    return default_polish_steps(int(getattr(net.env, "d", 0)))


def _draw(checkpoint: Path, n: int, seed: int, polish: int | None = 0) -> _Draws:
    import torch

    fmt = _checkpoint_format(checkpoint)
    if fmt.startswith("emily-mcmc"):
        if polish:
            raise InputError(
                f"--polish moves a GFlowNet's draws by MCMC steps; {checkpoint} is an MCMC "
                "checkpoint, whose draws are MCMC samples already (drop --polish)"
            )
        from emily.cognition import StructureMCMC

        mcmc: StructureMCMC = StructureMCMC.load(checkpoint)
        drawn = mcmc.sample(n)
        adjacency = drawn.adjacency.astype(bool)
        keys = [a.tobytes() for a in adjacency]
        return _Draws(
            sampler="mcmc",
            keys=keys,
            descriptions=[_edge_names(a, drawn.columns) for a in adjacency],
            embeddings=torch.from_numpy(adjacency.reshape(n, -1).astype("float32")),
            log_rewards=drawn.log_score.tolist(),
            adjacency=adjacency,
            log_scores=drawn.log_score,
            columns=list(drawn.columns),
        )
    from emily.cognition import GFlowNet

    net = GFlowNet.load(checkpoint)
    torch.manual_seed(seed)
    sampler = "gflownet"
    structure = hypothesis_space(net.env.name).structure
    if polish is None:  # the default: DAG draws polished, other spaces as drawn
        polish = _default_polish(net) if structure else 0
    if polish:
        if not structure:
            raise InputError(
                f"--polish applies to DAG models; {checkpoint} samples {net.env.name} hypotheses"
            )
        from emily.cognition import polish_layout, polish_samples

        dag: Any = net.env  # a DAG space, as `structure` says
        chains, keep = polish_layout(n)  # many draws: a few graphs from each polish chain
        policy_draws = net.generate(chains)
        sample, _ = polish_samples(dag, policy_draws, polish, keep=keep, limit=n, seed=seed)
        sampler = f"gflownet+polish({polish})" + (f", {keep} per chain" if keep > 1 else "")
    else:
        sample = net.generate(n)
    draws = _Draws(
        sampler=sampler,
        keys=sample.keys.tolist(),
        descriptions=list(sample.descriptions),
        embeddings=sample.embeddings,
        log_rewards=sample.log_reward.double().tolist(),
    )
    if hypothesis_space(net.env.name).structure:
        draws.adjacency, draws.log_scores = _dag_draws(net, sample)
        draws.columns = list(getattr(net.env, "columns", []))
    return draws


@app.command()
def sample(
    checkpoint: Annotated[
        Path, typer.Argument(help="A checkpoint written by `train` (GFlowNet or MCMC).")
    ],
    n: Annotated[int, typer.Option("-n", "--num-samples", min=1)] = 1000,
    top: Annotated[int, typer.Option(min=1, help="Hypotheses (graphs, classes) to list.")] = 5,
    threshold: Annotated[
        float,
        typer.Option(
            help="HyperGrid: diversity below which samples count as collapsed (DAG samples are "
            "checked by their Markov equivalence classes instead)."
        ),
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Random seed of the GFlowNet's draws.")] = 0,
    polish: Annotated[
        int | None,
        typer.Option(
            min=0,
            show_default="DAG GFlowNets: a number per variable, printed with the draws",
            help="DAG GFlowNets: move each draw by this many steps of an exact Metropolis-"
            "Hastings kernel over its edges before reporting (the posterior is its invariant "
            "distribution, so draws only come closer to it). 0: the policy's draws as they are.",
        ),
    ] = None,
    marginals: Annotated[
        Path | None,
        typer.Option(
            help="DAGs: write P(i -> j) as a d x d CSV, header and first column the variable "
            "names, rows the parents (.json: JSON with the most probable edges listed)."
        ),
    ] = None,
    graphml: Annotated[
        Path | None,
        typer.Option(
            help="DAGs: write GraphML: the edge-marginal graph, then every distinct sampled "
            "graph with its count."
        ),
    ] = None,
    dot: Annotated[
        Path | None, typer.Option(help="DAGs: write the same graphs as Graphviz DOT.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="DAGs: write the edge-marginal heat map as PNG, and the top graphs drawn to "
            "NAME-top.png beside it."
        ),
    ] = None,
    classes: Annotated[
        bool,
        typer.Option(
            "--classes",
            help="DAGs: pool the mass per Markov equivalence class and list the classes (CPDAGs).",
        ),
    ] = False,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="DAGs: a known graph, a d x d 0/1 CSV in the --marginals layout; prints E-SHD "
            "and edge AUROC against it (and outlines its edges on --plot)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Draw hypotheses from a trained model: the most frequent, their mass, diversity.

    For DAGs also the posterior summaries: edge marginals P(i -> j) (the share of sampled graphs
    holding each edge), the top graphs with their mass, with --classes the mass of each Markov
    equivalence class (observational data cannot orient edges within a class), and files to
    take elsewhere (--marginals, --graphml, --dot, --plot). --truth scores the posterior against
    a known graph: E-SHD (expected structural Hamming distance, lower is better) and the AUROC of
    the marginals as a detector of the true edges (1 = perfect ranking, 0.5 = chance). A DAG
    GFlowNet's draws are first polished by an exact MCMC kernel (--polish; 0 reports the
    policy's own draws).
    """
    from emily.cognition import (
        class_summary,
        detect_mode_collapse,
        edge_auroc,
        edge_marginals,
        expected_shd,
        marginals_payload,
        plot_marginals,
        plot_top_graphs,
        read_graph_csv,
        top_graphs,
        write_dot,
        write_graphml,
        write_marginals,
    )

    wants_dag = [
        flag
        for flag, value in (
            ("--marginals", marginals), ("--graphml", graphml), ("--dot", dot),
            ("--plot", plot), ("--truth", truth), ("--classes", classes or None),
        )
        if value is not None
    ]  # fmt: skip
    draws = _draw(checkpoint, n, seed, polish)
    if draws.adjacency is None and wants_dag:
        raise InputError(
            f"{', '.join(wants_dag)} need DAG samples; {checkpoint} is not a DAG model"
        )
    true_graph = None
    if truth is not None:
        true_graph = read_graph_csv(truth, draws.columns)
    collapse = detect_mode_collapse(draws.embeddings, threshold)
    result: dict[str, Any] = {
        "samples": n,
        "sampler": draws.sampler,
        "distinct": len(set(draws.keys)),
        "diversity": collapse.diversity,
        "mode_collapse": collapse.collapsed,
    }
    if draws.adjacency is None:
        result["top"] = _top_hypotheses(draws, n, top)
        _print_hypotheses(result, n, threshold, as_json)
        return
    adjacency, columns = draws.adjacency, draws.columns
    from emily.cognition import dag_collapse

    check = dag_collapse(adjacency)
    result["mode_collapse"] = check.collapsed
    result["collapse_check"] = check.as_dict()
    p = edge_marginals(adjacency)
    ranked = top_graphs(adjacency, draws.log_scores, k=top)
    result["variables"] = columns
    result["top"] = [
        {
            "hypothesis": g.edges(columns),
            "count": g.count,
            "frequency": g.frequency,
            "log_score": g.log_score,
        }
        for g in ranked
    ]
    result["marginals"] = marginals_payload(p, columns)
    if classes:
        result["classes"] = [
            {
                "directed": c.edges(columns)[0],
                "undirected": c.edges(columns)[1],
                "count": c.count,
                "frequency": c.frequency,
                "distinct_graphs": c.distinct_graphs,
            }
            for c in class_summary(adjacency, k=top, log_scores=draws.log_scores)
        ]
    if true_graph is not None:
        result["truth"] = {
            "file": str(truth),
            "edges": len(_edge_names(true_graph, columns)),
            "expected_shd": expected_shd(adjacency, true_graph),
            "auroc": _finite(edge_auroc(p, true_graph)),
            "truth_frequency": float(
                (adjacency == true_graph).reshape(adjacency.shape[0], -1).all(1).mean()
            ),
        }
    written: dict[str, str] = {}
    if marginals is not None:
        written["marginals"] = str(write_marginals(p, columns, marginals))
    if graphml is not None:
        every = top_graphs(adjacency, draws.log_scores, k=None)
        written["graphml"] = str(write_graphml(every, columns, graphml, marginals=p))
    if dot is not None:
        every = top_graphs(adjacency, draws.log_scores, k=None)
        written["dot"] = str(write_dot(every, columns, dot, marginals=p))
    if plot is not None:
        written["plot"] = str(plot_marginals(p, columns, plot, truth=true_graph))
        top_path = plot.with_name(f"{plot.stem}-top{plot.suffix or '.png'}")
        written["plot_top"] = str(plot_top_graphs(ranked, columns, top_path))
    if written:
        result["files"] = written
    if as_json:
        typer.echo(json.dumps(result))
        return
    _print_structure(result, n)


def _finite(value: float) -> float | None:
    """JSON has no NaN: an undefined figure (AUROC of a graph with no edges) is ``null``."""
    return value if math.isfinite(value) else None


def _top_hypotheses(draws: _Draws, n: int, top: int) -> list[dict[str, Any]]:
    """The most frequent hypotheses of a non-DAG space, with their frequency and log-reward."""
    counts = Counter(draws.keys)
    first: dict[Any, int] = {}
    for i, key in enumerate(draws.keys):
        first.setdefault(key, i)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], first[kv[0]]))[:top]
    return [
        {
            "hypothesis": draws.descriptions[first[key]],
            "frequency": count / n,
            "log_reward": draws.log_rewards[first[key]],
        }
        for key, count in ranked
    ]


def _print_hypotheses(result: dict[str, Any], n: int, threshold: float, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"{n} samples, {result['distinct']} distinct")
    for col in ("hypothesis", "frequency", "log R"):
        table.add_column(col)
    for h in result["top"]:
        table.add_row(str(h["hypothesis"]), f"{h['frequency']:.3f}", f"{h['log_reward']:.3f}")
    console.print(table)
    _print_collapse(result, threshold)


def _print_collapse(result: dict[str, Any], threshold: float) -> None:
    flag = "[red]yes[/red]" if result["mode_collapse"] else "no"
    console.print(f"diversity {result['diversity']:.3f} (mode collapse below {threshold}: {flag})")


def _arrows(edges: list[tuple[str, str]], sep: str = " → ", empty: str = "(no edges)") -> str:
    return ", ".join(f"{a}{sep}{b}" for a, b in edges) or empty


def _print_structure(result: dict[str, Any], n: int) -> None:
    """The DAG summaries as tables and lines (``--json`` prints the same as one object)."""
    title = f"top graphs of {n} samples ({result['distinct']} distinct, {result['sampler']})"
    table = Table(title=title)
    for col in ("#", "edges", "mass", "log score"):
        table.add_column(col)
    for rank, g in enumerate(result["top"], start=1):
        score = "" if g["log_score"] is None else f"{g['log_score']:.2f}"
        table.add_row(str(rank), escape(_arrows(g["hypothesis"])), f"{g['frequency']:.3f}", score)
    console.print(table)
    edges = result["marginals"]["edges"][:EDGES_SHOWN]
    table = Table(title="most probable edges")
    for col in ("edge i → j", "P(i → j | data)"):
        table.add_column(col)
    for e in edges:
        table.add_row(escape(f"{e['source']} → {e['target']}"), f"{e['probability']:.3f}")
    console.print(table)
    if "classes" in result:
        table = Table(title="Markov equivalence classes (CPDAGs): mass pooled over their DAGs")
        for col in ("#", "directed", "undirected (either way)", "mass", "DAGs sampled"):
            table.add_column(col)
        for rank, c in enumerate(result["classes"], start=1):
            table.add_row(
                str(rank),
                escape(_arrows(c["directed"], empty="(none)")),
                escape(_arrows(c["undirected"], " — ", "(none)")),
                f"{c['frequency']:.3f}",
                str(c["distinct_graphs"]),
            )
        console.print(table)
    # Not a mode-collapse verdict: a posterior the data pin down is rightly concentrated.
    console.print(
        f"diversity {result['diversity']:.3f}: two sampled graphs disagree on this share of the "
        "possible edges, on average",
        highlight=False,
    )
    check = result["collapse_check"]
    verdict = "[red]collapsed[/red]" if check["collapsed"] else "no collapse"
    console.print(
        f"equivalence-class check: {verdict} ({check['reason']})", highlight=False, soft_wrap=True
    )
    if "truth" in result:
        t = result["truth"]
        auroc = "undefined (no edges)" if t["auroc"] is None else f"{t['auroc']:.3f}"
        console.print(
            f"against {escape(t['file'])} ({t['edges']} edges): E-SHD {t['expected_shd']:.3f} "
            f"(mean edge errors per sampled graph; 0 = every sample is the truth), "
            f"edge AUROC {auroc} (1 = true edges ranked above all others, 0.5 = chance), "
            f"true graph sampled {t['truth_frequency']:.3f} of the time",
            highlight=False,
        )
    for what, path in result.get("files", {}).items():
        console.print(f"wrote {what}: {escape(path)}", highlight=False)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
