#!/usr/bin/env bash
# Create (idempotently) the benchmark-only virtual environment of the peers: torchgfn (GFlowNet
# benchmarks), torchhd's classifiers (benchmarks/classify.py), causal-learn's GES and PC and
# pgmpy's bundled example Bayesian networks (benchmarks/structure_learning.py).
#
# torchgfn pins numpy < 2, which breaks pandas 3 and the NumPy-2 code of .venv, so the peer lives
# in its own venv (git-ignored: .venv-*/). The benchmarks run the peer as a subprocess of this venv
# in the same run and read one JSON line back. `cdt` is installed WITHOUT its dependencies, only
# for the data it ships (the Sachs et al. 2005 flow-cytometry table and its published graph);
# nothing of cdt is imported. Usage: benchmarks/peers/setup_peers.sh [VENV]  (default .venv-peers)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${1:-${EMILY_PEER_VENV:-.venv-peers}}
python=${PYTHON:-python3}
stamp="$venv/.stamp-peers-v4"
[[ -f $stamp ]] && exit 0
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
quiet() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
# torch is pinned to the release .venv uses, so pip takes the CPU wheel on disk, not a CUDA build.
# torchgfn's Bayesian-structure helpers (exact posterior, JSD) import pandas, pgmpy, sklearn;
# torch-hd is the release .venv locks (its classifiers are the peers of benchmarks/classify.py).
quiet "$venv/bin/python" -m pip install -q "torch==2.13.0" "torchgfn==2.4.*" "pandas<3" pgmpy \
  scikit-learn networkx "torch-hd==5.8.*" "causal-learn==0.1.*"
quiet "$venv/bin/python" -m pip install -q --no-deps "cdt==0.6.0"
"$venv/bin/python" -c "import gfn, torch, torchhd; v = __import__('importlib.metadata').metadata.version; \
print('peers ready: torchgfn', v('torchgfn'), 'torch-hd', v('torch-hd'), 'causal-learn', v('causal-learn'), 'pgmpy', v('pgmpy'), 'torch', torch.__version__)" >&2
touch "$stamp"
