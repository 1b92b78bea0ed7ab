#!/usr/bin/env bash
# `make bench-peers`: installs nbgrader and otter-grader from PyPI into a venv of their own (with the
# course's torch and coursekit, for the kernels they start), then runs benchmarks/peers.py.
# Usage: scripts/bench_peers.sh [VENV] [benchmarks/peers.py options...]
set -euo pipefail
venv=${1:-.venv}
shift || true
peers=${COURSEKIT_PEERS_VENV:-bench-output/peers-venv}
py="$peers/bin/python"
if ! "$py" -c 'import nbgrader, otter, torch, coursekit, matplotlib, ipykernel' >/dev/null 2>&1; then
    echo "bench-peers: installing nbgrader 0.9.6 and otter-grader 7.0.0 into $peers"
    mkdir -p "$(dirname "$peers")"
    [ -x "$py" ] || "$venv/bin/python" -m venv "$peers"
    bash scripts/install_torch.sh "$py"
    "$py" -m pip install --quiet --disable-pip-version-check "nbgrader==0.9.6" "otter-grader==7.0.0"
    "$py" -m pip install --quiet --disable-pip-version-check --no-deps -e .
    "$py" -m pip install --quiet --disable-pip-version-check "numpy>=2.0,<3" "matplotlib>=3.8,<4" \
        "ipywidgets>=8.1,<9" ipykernel nbformat
fi
exec "$venv/bin/python" benchmarks/peers.py --peers-python "$py" "$@"
