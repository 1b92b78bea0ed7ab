#!/usr/bin/env bash
# Creates (or repairs) the course's virtual environment and installs everything into it.
# Usage: scripts/bootstrap.sh [VENV_DIR]
set -euo pipefail
venv=${1:-.venv}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

python=${PYTHON:-}
if [ -z "$python" ]; then
    for candidate in python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
    done
fi
[ -n "$python" ] || { echo "bootstrap: no python3 found; install Python 3.11 first." >&2; exit 1; }
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "bootstrap: $python is $("$python" --version 2>&1); the course needs Python 3.11 or newer." >&2; exit 1; }

# A venv whose interpreter no longer runs (moved folder, removed Python) is rebuilt.
if [ -d "$venv" ] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "bootstrap: $venv is broken, recreating it"
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "bootstrap: creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

bash scripts/install_torch.sh "$venv/bin/python"
echo "bootstrap: installing coursekit and its test tools"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
"$venv/bin/python" -m coursekit.cli doctor --quiet
touch "$venv/.coursekit-installed"
echo "bootstrap: $venv is ready"
