#!/usr/bin/env bash
# `make bench`: every benchmark under benchmarks/, each printing its own table.
set -uo pipefail
venv=${1:-.venv}
py="$venv/bin/python"
status=0
for bench in benchmarks/*.py; do
    echo
    echo "================ $bench ================"
    "$py" "$bench" || { echo "$bench: FAILED or over target"; status=1; }
done
exit $status
