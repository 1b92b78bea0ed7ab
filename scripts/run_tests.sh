#!/usr/bin/env bash
# The whole suite, as `make test` runs it: ruff, mypy, unit tests, nbval (strict) on every notebook,
# the book's build, the browser test (JupyterLab and the book) and the Binder test.
# Every step runs; the exit code is non-zero if any failed.
set -uo pipefail
venv=${1:-.venv}
py="$venv/bin/python"
out=${COURSEKIT_TEST_OUTPUT:-test-output}
mkdir -p "$out"
declare -a failed=()
declare -a summary=()

step() {
    local name=$1; shift
    local start=$SECONDS
    echo
    echo "================ $name ================"
    "$@"
    local rc=$?
    local took=$((SECONDS - start))
    if [ $rc -eq 0 ]; then
        summary+=("ok      ${took}s  $name")
    else
        summary+=("FAILED  ${took}s  $name (exit $rc)")
        failed+=("$name")
    fi
}

mapfile -t notebooks < <(ls notebooks/*.ipynb 2>/dev/null | sort)

step "ruff" "$py" -m ruff check coursekit tests benchmarks scripts book
step "mypy (the package's types)" "$py" -m mypy
step "unit tests" "$py" -m pytest -n 2 -m "not browser and not binder" tests
if [ ${#notebooks[@]} -eq 0 ]; then
    echo "no notebooks found under notebooks/"; failed+=("nbval"); summary+=("FAILED  nbval (no notebooks)")
else
    step "nbval (strict) on ${#notebooks[@]} notebooks" "$py" -m pytest -p no:cacheprovider --nbval \
        --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -n 2 --dist loadfile "${notebooks[@]}"
fi
# the course website, which the browser test opens page by page (tests/browser/test_book.py)
step "book (make book)" make --no-print-directory book VENV="$venv"
if [ -d tests/browser ]; then
    step "browser test (JupyterLab and the book in Chromium)" "$py" -m pytest -m browser -rs tests/browser \
        --junitxml="$out/browser-junit.xml"
    if grep -q '<skipped' "$out/browser-junit.xml" 2>/dev/null; then
        echo
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        echo "!!! THE BROWSER TEST WAS SKIPPED: $(grep -o 'message="[^"]*"' "$out/browser-junit.xml" | head -1)"
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        summary+=("SKIPPED browser test (see the banner above)")
    fi
fi
step "Slurm scale-out (make scale)" env COURSEKIT_SCALE_TEST=1 "$py" -m pytest -p no:cacheprovider -s -rs \
    tests/grading/test_slurm.py --junitxml="$out/scale-junit.xml"
if grep -q '<skipped' "$out/scale-junit.xml" 2>/dev/null; then
    echo
    echo "!!! THE SLURM SCALE-OUT TEST WAS SKIPPED: $(grep -o 'message="[^"]*"' "$out/scale-junit.xml" | head -1)"
    summary+=("SKIPPED Slurm scale-out test (see the line above)")
fi
if [ -d tests/binder ]; then
    step "Binder-like environment" "$py" -m pytest -m binder tests/binder
fi

echo
echo "================ summary ================"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "make test: ${#failed[@]} step(s) failed: ${failed[*]}"
    exit 1
fi
echo "make test: all steps passed"
