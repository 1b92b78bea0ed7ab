#!/usr/bin/env bash
# Installs the tested PyTorch (2.13.0) into the given interpreter's environment.
# A machine with an NVIDIA GPU gets the CUDA build; any other machine gets a CPU build,
# taken from a local wheel when one is available, else from PyTorch's CPU wheel index,
# so a CPU machine never downloads the multi-GB CUDA packages.
set -euo pipefail
python=${1:?usage: install_torch.sh PYTHON}
want=2.13.0
pip=("$python" -m pip install --quiet --disable-pip-version-check)

gpu=no
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=yes; fi

# "VERSION CUDA" of the installed torch, e.g. "2.13.0+cpu None" or "2.13.0 12.8"
have=$("$python" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>/dev/null || true)
have_version=${have%% *}
have_cuda=${have##* }
if [ "${have_version%%+*}" = "$want" ]; then
    if [ $gpu = no ] || [ "$have_cuda" != None ]; then
        echo "install_torch: torch $have_version already installed"
        exit 0
    fi
    # pip counts 2.13.0+cpu as satisfying torch==2.13.0, so the CUDA build must replace it by force
    echo "install_torch: torch $have_version is a CPU build on a machine with an NVIDIA GPU; replacing it"
    "${pip[@]}" --force-reinstall --no-deps "torch==$want"
    "${pip[@]}" "torch==$want"
    exit 0
fi

if [ $gpu = yes ]; then
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
