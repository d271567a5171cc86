"""Peer helper: forward-sample a discrete Bayesian network that ships inside pgmpy.

Runs inside the peer venv and never imports emily. ``get_example_model(name)`` reads the
network's BIF from the installed wheel (``pgmpy/utils/example_models/<name>.bif.gz``; no network
access); the helper checks that file exists first, so a pgmpy that would download instead fails
loudly. ``BayesianModelSampling.forward_sample`` draws ``--rows`` rows with the seed; every
column is coded ``0 .. r - 1`` in the order of the CPD's state names. Writes the codes to
``--out`` (CSV, columns = the network's variables in sorted order) and prints one JSON line with
the true DAG (``[i, j]``: edge ``i -> j`` by column index), arities, states and the BIF's path.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
from importlib.resources import files

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--network", default="sachs")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    bif = files("pgmpy") / "utils" / "example_models" / f"{args.network}.bif.gz"
    if not bif.is_file():
        raise SystemExit(f"pgmpy ships no {bif}; refusing to fetch a network over the internet")
    from pgmpy.sampling import BayesianModelSampling
    from pgmpy.utils import get_example_model

    model = get_example_model(args.network)
    names = sorted(model.nodes())
    frame = BayesianModelSampling(model).forward_sample(
        size=args.rows, seed=args.seed, show_progress=False
    )
    states = {v: list(model.get_cpds(v).state_names[v]) for v in names}
    codes = frame[names].copy()
    for v in names:
        codes[v] = codes[v].map({s: k for k, s in enumerate(states[v])}).astype(np.int64)
    codes.to_csv(args.out, index=False)
    edges = sorted([names.index(u), names.index(v)] for u, v in model.edges())
    print(
        json.dumps(
            {
                "network": args.network,
                "bif": str(bif),
                "pgmpy_version": importlib.metadata.version("pgmpy"),
                "rows": args.rows,
                "columns": names,
                "edges": edges,
                "arity": [len(states[v]) for v in names],
                "observed_arity": [int(codes[v].nunique()) for v in names],
                "states": states,
            }
        )
    )


if __name__ == "__main__":
    main()
