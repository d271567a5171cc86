"""Peer runner: torchgfn's Bayesian-structure environment (DAG-GFlowNet setting), BGe reward.

Runs inside the peer venv, never imports emily, prints one JSON line. Reads the data table the
benchmark generated (CSV), builds torchgfn's own BGe scorer (uniform prior), BayesianStructure
environment, an MLP edge-action policy (torchgfn's GraphEdgeActionMLP over the n x n adjacency),
a uniform backward policy and TBGFlowNet, and trains with torchgfn's recommended off-policy
recipe (ε-noisy exploration annealed from 1.0 to 0.1 over the first half, replay buffer, Adam
1e-4 for the policy, SGD with momentum 0.8 and lr 0.1 for log Z). The JSD to the exact posterior
uses torchgfn's own exact tooling for the sampler's terminal distribution (a BFS over all
29,281 DAGs) and torchgfn's own BGe scorer over the same DAGs for the target. Both are written to
``--dist-out`` (edge bitmask, log q, log p) so the benchmark can recompute JSD and edge-marginal
error with the same code it uses for our side.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import networkx as nx
import numpy as np
import pandas as pd
import torch
from gfn.actions import GraphActions
from gfn.containers.replay_buffer import ReplayBuffer
from gfn.estimators import DiscreteGraphPolicyEstimator
from gfn.gflownet.trajectory_balance import TBGFlowNet
from gfn.gym.bayesian_structure import BayesianStructure
from gfn.gym.helpers.bayesian_structure.jsd import (
    get_gfn_exact_posterior,
    nx_to_geometric_data,
    posterior_exact,
)
from gfn.gym.helpers.bayesian_structure.priors import UniformPrior
from gfn.gym.helpers.bayesian_structure.scores import BGeScore
from gfn.utils.modules import GraphActionUniform, GraphEdgeActionMLP
from scipy.special import logsumexp


class DirectedEdgeMLP(GraphEdgeActionMLP):
    """torchgfn's edge-action MLP over all n*n ordered pairs (directed graphs).

    In torchgfn 2.4.1 the generic module emits ``n + 1`` node-index logits (graph building may
    add a node) while BayesianStructure masks ``n``; node actions are never allowed there, so the
    extra column is dropped.
    """

    @property
    def edges_dim(self) -> int:
        return self.n_nodes**2

    def forward(self, states_tensor):  # type: ignore[no-untyped-def]
        out = super().forward(states_tensor)
        key = GraphActions.NODE_INDEX_KEY
        out[key] = out[key][..., : self.n_nodes]
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--trajectories", type=int, default=32_000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--lr-logz", type=float, default=0.1)
    ap.add_argument("--embedding", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--buffer", type=int, default=100_000)
    ap.add_argument("--prefill", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dist-out", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    data = pd.read_csv(args.data)
    names = list(data.columns)
    scorer = BGeScore(data, UniformPrior())
    env = BayesianStructure(n_nodes=len(names), state_evaluator=scorer.state_evaluator)
    pf = DiscreteGraphPolicyEstimator(
        module=DirectedEdgeMLP(
            n_nodes=env.n_nodes,
            directed=True,
            num_node_classes=env.num_node_classes,
            num_edge_classes=env.num_edge_classes,
            n_hidden_layers=args.layers,
            embedding_dim=args.embedding,
        )
    )
    pb = DiscreteGraphPolicyEstimator(
        module=GraphActionUniform(env.n_nodes**2, env.num_edge_classes, env.num_node_classes),
        is_backward=True,
    )
    gfn = TBGFlowNet(pf, pb)
    opt = torch.optim.Adam([v for k, v in gfn.named_parameters() if k != "logZ"], lr=args.lr)
    opt_z = torch.optim.SGD([gfn.logZ], lr=args.lr_logz, momentum=0.8)
    buffer = ReplayBuffer(env, capacity=args.buffer)
    iters = args.trajectories // args.batch
    total = iters + args.prefill
    eps_dict: dict[str, float] = defaultdict(float)
    train_s = cpu_s = 0.0
    sampled = 0
    for it in range(total):
        w0, c0 = time.perf_counter(), time.process_time()
        eps = 0.1 + 0.9 * max(0.0, 1.0 - it / (total // 2))
        eps_dict[GraphActions.ACTION_TYPE_KEY] = eps / env.n_nodes**2
        eps_dict[GraphActions.EDGE_INDEX_KEY] = eps
        traj = gfn.sample_trajectories(env, n=args.batch, save_logprobs=False, epsilon=eps_dict)
        sampled += args.batch
        with torch.no_grad():
            buffer.add(gfn.to_training_samples(traj))
        if it >= args.prefill:
            batch = buffer.sample(n_samples=args.batch)
            opt.zero_grad()
            opt_z.zero_grad()
            loss = gfn.loss(env, batch, recalculate_all_logprobs=True)
            loss.backward()
            opt.step()
            opt_z.step()
        train_s += time.perf_counter() - w0
        cpu_s += time.process_time() - c0

    w0 = time.perf_counter()
    # The sampler's exact terminal distribution, by torchgfn's own tooling (BFS over all DAGs).
    exact = get_gfn_exact_posterior(posterior_exact(env, pf, names, batch_size=256), verbose=False)
    exact_d = exact.to_dict()
    graphs = list(exact_d)
    log_q = np.array([exact_d[g] for g in graphs], dtype=np.float64)
    # The exact posterior under torchgfn's own BGe scorer, over the same DAGs. (torchgfn's
    # get_full_posterior enumerates through pgmpy's ExhaustiveSearch, which pgmpy 1.x rejects.)
    geo = np.empty(len(graphs), dtype=object)
    for i, g in enumerate(graphs):
        nxg = nx.DiGraph(list(g))
        nxg.add_nodes_from(names)
        geo[i] = nx_to_geometric_data(nxg, env, names)
    log_p = scorer.state_evaluator(env.States(geo)).double().numpy()
    log_p = log_p - logsumexp(log_p)
    log_m = np.log(0.5) + np.logaddexp(log_p, log_q)
    jsd = float(0.5 * np.sum(np.exp(log_p) * (log_p - log_m) + np.exp(log_q) * (log_q - log_m)))
    eval_s = time.perf_counter() - w0
    if args.dist_out:
        bits = [sum(1 << (names.index(u) * len(names) + names.index(v)) for u, v in g)
                for g in graphs]  # fmt: skip
        np.save(args.dist_out, np.stack([np.array(bits, dtype=np.float64), log_q, log_p], 1))
    print(
        json.dumps(
            {
                "peer": "torchgfn",
                "torchgfn_version": __import__("importlib.metadata").metadata.version("torchgfn"),
                "trajectories_sampled": sampled,
                "trajectories_trained": iters * args.batch,
                "train_s": train_s,
                "cpu_s": cpu_s,
                "eval_s": eval_s,
                "traj_per_s": sampled / train_s,
                "jsd": jsd,
                "log_z": float(gfn.logZ.detach()),
            }
        )
    )


if __name__ == "__main__":
    main()
