#!/usr/bin/env bash
# Installs the tested PyTorch (2.13.0) into the given interpreter's environment.
# A machine with an NVIDIA GPU gets the CUDA build; any other machine gets a CPU build,
# taken from a local wheel when one is available, else from PyTorch's CPU wheel index,
# so a CPU machine never downloads the multi-GB CUDA packages.
set -euo pipefail
python=${1:?usage: install_torch.sh PYTHON}
want=2.13.0
pip=("$python" -m pip install --quiet --disable-pip-version-check)

have=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || true)
if [ "${have%%+*}" = "$want" ]; then
    echo "install_torch: torch $have already installed"
    exit 0
fi

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "install_torch: NVIDIA GPU found, installing the CUDA build of torch $want"
    "${pip[@]}" "torch==$want"
    exit 0
fi

echo "install_torch: no NVIDIA GPU, installing a CPU build of torch $want"
if "${pip[@]}" --no-index --no-deps "torch==$want" 2>/dev/null; then
    echo "install_torch: used a local CPU wheel"
else
    "${pip[@]}" --no-deps "torch==$want+cpu" --index-url https://download.pytorch.org/whl/cpu
fi
# torch's own small dependencies (filelock, sympy, ...) come from the normal index;
# torch itself is already satisfied, so nothing CUDA-related is pulled in.
"${pip[@]}" "torch==$want"
