#!/usr/bin/env bash
# The course on a CUDA GPU, in one command (`make gpu-check`).
#
# On a machine where nvidia-smi lists an NVIDIA GPU it: builds a lean environment with a CUDA build
# of torch (.venv-gpu, see "Where torch comes from" below), prints `coursekit doctor`, runs nbval
# (strict) on every notebook with COURSEKIT_DEVICE unset, so CUDA is picked, then again with
# COURSEKIT_DEVICE=cpu in the same environment, runs the exercise bank's tests, and prints a table:
# per notebook, GPU and CPU wall time and result, the device the notebook picked, the peak CUDA
# memory and the cells that allocated CUDA memory (recorded in each kernel by gpu_check_hook.py).
# Without a GPU it says so, runs the CPU half in the course's .venv and exits 0 if that passes.
#
# Where torch comes from on a GPU machine, in this order:
#   1. a Python on PATH (or GPU_CHECK_PYTHON) whose torch is the pinned 2.13.0 and sees the GPU;
#   2. else, where the package index answers, the CUDA build of torch 2.13.0 installed by
#      scripts/install_torch.sh into a fresh .venv-gpu (a download of a few GB);
#   3. else a Python whose torch is another CUDA build (e.g. an offline machine's preinstalled one):
#      the check runs on it and says that the version differs from the pinned one.
# In cases 1 and 3, .venv-gpu sees that Python's packages through a .pth file; it adds what is missing
# (ipykernel, nbval, ipywidgets, JupyterLab, ...: notebook 00 asserts, through doctor, that the
# course's whole environment is there), from the index or, offline, from a folder of wheels
# (GPU_CHECK_WHEELS, default .gpu-wheels/ when it exists), which a machine with network makes with
#   scripts/gpu_check.sh --fetch-wheels DIR [PYTHON_VERSION [NAME...]]
# for the target's Python version (e.g. 3.12; default: this one's), leaving out the wheels of the
# distributions NAME... that the target already has (e.g. numpy matplotlib pillow pytest).
#
# Exit code: 0 when every notebook passed on the GPU (without a GPU: in the CPU half); 1 when a
# notebook failed there; 2 when a GPU is present but the GPU half could not run (no environment,
# or torch cannot use the GPU); 3 when notebooks were left unrun (time budget spent).
# A missing GPU is never a failure.
#
# Settings (environment variables):
#   GPU_CHECK_OUT         output folder (default gpu-check-output): the table, logs, per-cell results
#   GPU_CHECK_NOTEBOOKS   notebooks to run, separated by spaces (default notebooks/*.ipynb and
#                         notebooks/zh/*.ipynb)
#   GPU_CHECK_BANK_TESTS  pytest targets for the exercise bank (default tests/exercises; "" skips)
#   GPU_CHECK_JOBS        notebooks run at once in each pass (default nproc/4, 1 to 4)
#   GPU_CHECK_BUDGET      seconds from the start after which nothing new is started (default 450
#                         on a GPU machine, so a run fits in 8 minutes; without a GPU, 0: no limit)
#   GPU_CHECK_NOTEBOOK_TIMEOUT  seconds one notebook may take (default 240)
#   GPU_CHECK_PYTHON      the Python that holds a CUDA torch (default: searched on PATH)
#   GPU_CHECK_TORCH       auto (the order above), or preinstalled (never download torch)
#   GPU_CHECK_WHEELS      folder of wheels for an offline GPU machine
#   GPU_CHECK_VENV        the environment of the CPU-only run (default .venv, bootstrapped if needed)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
PINNED_TORCH=2.13.0
# What running the notebooks and the bank's tests needs, besides torch (specifiers from pyproject.toml).
LEAN_PACKAGES="numpy matplotlib ipywidgets ipykernel jupyterlab nbformat pytest pytest-xdist nbval hypothesis"

say() { printf 'gpu_check: %s\n' "$*"; }
now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

lean_requirements() {  # PYTHON: one requirement a line, with pyproject.toml's version specifiers
    "$1" - "$LEAN_PACKAGES" <<'EOF'
import re, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = set(sys.argv[1].split())
for req in project["dependencies"] + project["optional-dependencies"]["dev"]:
    if re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0].lower() in wanted:
        print(req)
EOF
}

# fetch_wheels DIR [PYTHON_VERSION [NAME...]]: wheels of the lean set (and what it needs) for an
# offline Linux x86-64 machine; the wheels of NAMEs, distributions that machine already has, are
# left out to keep the folder small.
fetch_wheels() {
    local dir=${1:?usage: gpu_check.sh --fetch-wheels DIR [PYTHON_VERSION [NAME...]]} version=${2:-}
    shift; shift || true
    local py=python3 name norm
    [ -x .venv/bin/python ] && py=.venv/bin/python
    [ -n "$version" ] || version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    local -a platforms=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64)
    for n in $(seq 17 39); do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
    mapfile -t reqs < <(lean_requirements "$py")
    mkdir -p "$dir"
    say "downloading wheels for Python $version (x86-64 Linux) into $dir: ${reqs[*]}"
    "$py" -m pip download --quiet --only-binary=:all: --implementation cp --python-version "$version" \
        "${platforms[@]}" -d "$dir" "${reqs[@]}" || return 1
    for name in "$@"; do
        norm=$(printf '%s' "$name" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/_/g')
        find "$dir" -maxdepth 1 -iname "${norm}-*.whl" -print -delete | sed 's/^/  left out (already there): /'
    done
    say "$(find "$dir" -name '*.whl' | wc -l) wheels, $(du -sh "$dir" | cut -f1) in $dir"
}

case "${1:-}" in
    --fetch-wheels) shift; fetch_wheels "$@"; exit $? ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 64 ;;
esac

t0=$(now)
out=${GPU_CHECK_OUT:-gpu-check-output}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/runs" "$out/ipython" "$out/gpu_check_table.txt" "$out/gpu_check.json"
declare -a phases=()
phase_start=""
phase_name=""

phase() {  # NAME: end the running phase (recording its time) and begin the next
    if [ -n "$phase_name" ]; then
        phases+=("$(printf '%7ss  %s' "$(elapsed "$phase_start")" "$phase_name")")
    fi
    phase_name=$1
    phase_start=$(now)
    [ -n "$phase_name" ] && printf '\n======== %s (at %ss) ========\n' "$phase_name" "$(elapsed "$t0")"
    return 0
}

finish() {  # EXIT_CODE: print the phase times and leave
    phase ""
    printf '\n======== phase times ========\n'
    printf '%s\n' "${phases[@]}"
    say "total $(elapsed "$t0")s; results in $out"
    exit "$1"
}

time_left() { awk -v d="$deadline" -v n="$(now)" 'BEGIN { printf "%.0f", d - n }'; }

# ---------------------------------------------------------------- the machine
phase "machine"
cores=$(nproc)
gpu=no
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
    gpu=yes
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null |
        sed 's/^/  GPU: /'
else
    say "no NVIDIA GPU here (nvidia-smi is missing or lists no GPU): running the CPU half only;"
    say "the GPU columns of the table stay empty, and the exit code does not count the missing GPU."
fi
echo "  $cores CPU cores, $(uname -sm)"
jobs=${GPU_CHECK_JOBS:-$(( cores / 4 ))}
(( jobs < 1 )) && jobs=1
(( jobs > 4 )) && [ -z "${GPU_CHECK_JOBS:-}" ] && jobs=4
threads=$(( cores / jobs )); (( threads < 1 )) && threads=1
# The budget guards a GPU machine's hard time limit; a run without a GPU has none unless asked.
budget=${GPU_CHECK_BUDGET:-}
[ -n "$budget" ] || { [ $gpu = yes ] && budget=450 || budget=0; }
if (( budget > 0 )); then
    deadline=$(awk -v a="$t0" -v b="$budget" 'BEGIN { printf "%.0f", a + b }')
    echo "  time budget: nothing new starts after ${budget}s"
else
    deadline=$(awk -v a="$t0" 'BEGIN { printf "%.0f", a + 10^9 }')
fi

# The notebooks, each with the KEY its result files are named by (its path under notebooks/, - for /).
notebooks=()
if [ -n "${GPU_CHECK_NOTEBOOKS:-}" ]; then
    read -r -a notebooks <<<"$GPU_CHECK_NOTEBOOKS"
else
    shopt -s nullglob
    notebooks=(notebooks/*.ipynb notebooks/zh/*.ipynb)
    shopt -u nullglob
fi
: >"$out/notebooks.txt"
for nb in "${notebooks[@]}"; do
    [ -f "$nb" ] || { say "no notebook at $nb"; finish 64; }
    key=$nb
    if [[ $nb == notebooks/* ]]; then key=${nb#notebooks/}; else key=$(basename "$nb"); fi
    key=${key%.ipynb}; key=${key//\//-}
    if cut -f1 "$out/notebooks.txt" | grep -qxF "$key"; then say "two notebooks are both named $key"; finish 64; fi
    printf '%s\t%s\n' "$key" "$nb" >>"$out/notebooks.txt"
done
echo "  ${#notebooks[@]} notebooks; $jobs at a time, $threads CPU threads each"

# ---------------------------------------------------------------- the environment
# find_cuda_python: the first candidate whose torch sees a GPU; prints "PATH VERSION"
find_cuda_python() {
    local candidates=("${GPU_CHECK_PYTHON:-}" python3 python3.13 python3.12 python3.11 python)
    local c path version
    for c in "${candidates[@]}"; do
        [ -n "$c" ] || continue
        path=$(command -v "$c" 2>/dev/null) || continue
        version=$("$path" -c 'import torch; assert torch.cuda.is_available(); print(torch.__version__)' \
            2>/dev/null) || continue
        echo "$path $version"
        return 0
    done
    return 1
}

index_answers() {  # PYTHON: can pip download from the package index? (a small wheel, 20 s at most)
    local tmp rc
    tmp=$(mktemp -d)
    timeout 20 "$1" -m pip download --quiet --no-deps --no-cache-dir --timeout 5 --retries 0 \
        -d "$tmp" "nbval>=0.11" >/dev/null 2>&1
    rc=$?
    rm -rf "$tmp"
    return $rc
}

# make_env BASE LINK: a fresh .venv-gpu made with BASE; LINK=yes lets it see BASE's packages.
# Sets pipcmd to the pip that installs into it.
make_env() {
    local base=$1 link=$2 purelib
    rm -rf "$env_dir"
    if "$base" -m venv "$env_dir" >/dev/null 2>&1; then
        pipcmd=("$env_dir/bin/python" -m pip)
    else
        # a Python without ensurepip (Debian's without python3-venv) still makes a venv without pip
        rm -rf "$env_dir"
        "$base" -m venv --without-pip "$env_dir" || return 1
        pipcmd=("$base" -m pip --python "$env_dir/bin/python")
    fi
    pipcmd+=(install --quiet --disable-pip-version-check --no-compile)  # modules compile when imported
    purelib=$("$env_dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || return 1
    {
        echo "$here"  # coursekit itself, as an editable install would
        if [ "$link" = yes ]; then  # BASE's site folders, their own .pth files included
            "$base" -c 'import sys; [print(f"import site; site.addsitedir({p!r})") for p in sys.path
                                     if p.endswith(("site-packages", "dist-packages"))]'
        fi
    } >"$purelib/coursekit_gpu_check.pth"
}

gpu_environment() {  # builds .venv-gpu; sets py
    env_dir=.venv-gpu
    local found base="" base_torch="" mode wheels=${GPU_CHECK_WHEELS:-}
    [ -z "$wheels" ] && [ -d .gpu-wheels ] && wheels=.gpu-wheels
    if found=$(find_cuda_python); then
        base=${found% *}; base_torch=${found#* }
        echo "  $base has torch $base_torch, which sees the GPU"
    else
        echo "  no Python on PATH has a torch that sees the GPU"
    fi
    if [ -n "$base" ] && [ "${base_torch%%+*}" = "$PINNED_TORCH" ]; then
        mode=preinstalled
    elif [ "${GPU_CHECK_TORCH:-auto}" != preinstalled ] && index_answers "${base:-python3}"; then
        mode=download
    elif [ -n "$base" ]; then
        mode=preinstalled
    else
        say "cannot build the GPU environment: no Python here has a CUDA build of torch, and the package"
        say "index cannot be reached to install torch $PINNED_TORCH. Run it where one of the two holds."
        return 1
    fi
    local stamp="$mode | ${base} | ${wheels:-index} | $(cat pyproject.toml scripts/install_torch.sh | cksum)"
    if [ -x "$env_dir/bin/python" ] && [ "$(cat "$env_dir/.gpu-check-ready" 2>/dev/null)" = "$stamp" ]; then
        echo "  reusing $env_dir (built earlier for the same setup)"
        py=$env_dir/bin/python
        return 0
    fi
    local t cap
    t=$(now)
    if [ $mode = download ]; then
        echo "  torch: the CUDA build of the pinned $PINNED_TORCH, from the package index"
        local maker=${base:-}
        [ -n "$maker" ] || maker=$(command -v python3.11 || command -v python3) || return 1
        make_env "$maker" no || return 1
        if [ ! -x "$env_dir/bin/pip" ]; then "${pipcmd[@]}" pip || return 1; fi
        # a download of a few GB: leave the notebooks enough of the budget, or use the preinstalled torch
        cap=$(( $(time_left) - 200 )); (( cap > 300 )) && cap=300
        if (( cap >= 60 )) && timeout -k 10 "$cap" bash scripts/install_torch.sh "$env_dir/bin/python"; then
            echo "  made $env_dir and installed torch in it ($(elapsed "$t")s)"
        elif [ -n "$base" ]; then
            say "installing torch $PINNED_TORCH failed or outran ${cap}s; using $base's torch $base_torch instead"
            mode=preinstalled
            stamp=""  # not a setup to reuse: the next run tries the download again
        else
            say "installing torch $PINNED_TORCH failed or outran ${cap}s, and no other CUDA torch is here"
            return 1
        fi
    fi
    if [ $mode = preinstalled ]; then
        if [ "${base_torch%%+*}" = "$PINNED_TORCH" ]; then
            echo "  torch: the preinstalled $base_torch (the pinned version)"
        else
            echo "  torch: the preinstalled $base_torch, NOT the pinned $PINNED_TORCH (results may differ)"
        fi
        t=$(now)
        make_env "$base" yes || return 1
        echo "  made $env_dir on top of $base ($(elapsed "$t")s)"
    fi
    t=$(now)
    mapfile -t reqs < <(lean_requirements "$env_dir/bin/python")
    if [ -n "$wheels" ]; then
        echo "  installing what is missing of: ${reqs[*]} (from the wheels in $wheels)"
        if ! "${pipcmd[@]}" --no-index --find-links "$wheels" "${reqs[@]}"; then
            say "the wheels in $wheels lack some of these for $("$env_dir/bin/python" -V 2>&1): make the"
            say "folder again with --fetch-wheels for that Python version, leaving out only what is installed here"
            return 1
        fi
    else
        echo "  installing what is missing of: ${reqs[*]} (from the package index)"
        if ! "${pipcmd[@]}" "${reqs[@]}"; then
            say "could not install them from the package index; for a machine without network, make a folder"
            say "of wheels with --fetch-wheels on one that has it, and pass it here as GPU_CHECK_WHEELS"
            return 1
        fi
    fi
    echo "  installed ($(elapsed "$t")s)"
    [ -n "$stamp" ] && echo "$stamp" >"$env_dir/.gpu-check-ready"
    py=$env_dir/bin/python
}

cpu_environment() {  # the course's own venv, bootstrapped when it cannot run the notebooks; sets py
    local venv=${GPU_CHECK_VENV:-.venv}
    # find_spec looks the packages up without importing torch (which the probe below does once)
    if ! "$venv/bin/python" -c 'import importlib.util as u, sys
sys.exit(any(u.find_spec(m) is None for m in ("coursekit", "torch", "nbval", "ipykernel", "xdist", "jupyterlab")))' \
            >/dev/null 2>&1; then
        bash scripts/bootstrap.sh "$venv" || return 1
    fi
    py=$venv/bin/python
    echo "  using $venv"
}

phase "environment"
gpu_usable=no
if [ $gpu = yes ]; then
    if ! gpu_environment; then
        finish 2
    fi
else
    cpu_environment || { say "could not build the course's environment"; finish 2; }
fi
# One interpreter start: which torch this is, and whether it can put a tensor on the GPU.
"$py" - >"$out/torch_probe.txt" 2>"$out/torch_probe.log" <<'EOF'
import sys, torch
print(torch.__version__)
print(f"python {sys.version.split()[0]} at {sys.executable}; torch {torch.__version__}, CUDA build {torch.version.cuda}")
if not torch.cuda.is_available():
    print("no")
    sys.exit(f"torch.cuda.is_available() is False (this torch's CUDA build: {torch.version.cuda})")
print("yes" if torch.ones(1, device="cuda").sum().item() == 1 else "no")
EOF
{ read -r torch_version; read -r torch_line; read -r cuda_works; } <"$out/torch_probe.txt"
echo "  ${torch_line:-torch could not be imported: $(tail -n 1 "$out/torch_probe.log")}"
if [ $gpu = yes ]; then
    if [ "${cuda_works:-no}" = yes ]; then
        gpu_usable=yes
    else
        say "nvidia-smi shows a GPU, but this torch cannot use it: $(tail -n 1 "$out/torch_probe.log")"
        say "the GPU pass is skipped; the CPU half still runs, and the exit code will be 2."
    fi
fi
# Import the kernel's modules once, so their first compilation is not timed as the first GPU notebook's.
if [ $gpu_usable = yes ]; then
    "$py" -c 'import coursekit.grading.check, IPython, ipykernel.kernelapp, ipywidgets, matplotlib.pyplot, nbval.plugin' \
        >/dev/null 2>&1 || true
fi
gpu_state=usable
[ $gpu = no ] && gpu_state=absent
[ $gpu = yes ] && [ $gpu_usable = no ] && gpu_state=unusable

# ---------------------------------------------------------------- doctor
phase "coursekit doctor"
"$py" -m coursekit.cli doctor || say "doctor reports problems (above); notebook 00 will fail on them"


# The kernels' IPython start-up file loads the memory hook (and leaves no names behind).
ipydir=$out/ipython
mkdir -p "$ipydir/profile_default/startup"
cat >"$ipydir/profile_default/startup/00-gpu-check.py" <<EOF
import importlib.util as _gc_util, sys as _gc_sys
_gc_spec = _gc_util.spec_from_file_location("gpu_check_hook", r"$here/scripts/gpu_check_hook.py")
_gc_sys.modules["gpu_check_hook"] = _gc_util.module_from_spec(_gc_spec)
_gc_spec.loader.exec_module(_gc_sys.modules["gpu_check_hook"])
_gc_sys.modules["gpu_check_hook"].install()
del _gc_util, _gc_sys, _gc_spec
EOF
# Kernels run side by side: each keeps its (unused) history in memory rather than in one shared file.
echo "c.HistoryManager.enabled = False" >"$ipydir/profile_default/ipython_kernel_config.py"

run_notebook() {  # PASS KEY PATH: one notebook under nbval in its own pytest, timed
    local pass=$1 key=$2 nb=$3 dir=$out/runs/$1 left limit start rc secs
    left=$(time_left)
    if (( left < 20 )); then
        printf '  [%s] %-28s not run: the time budget is spent\n' "$pass" "$key"
        return 0
    fi
    limit=${GPU_CHECK_NOTEBOOK_TIMEOUT:-240}
    (( left < limit )) && limit=$left
    local -a vars=(GPU_CHECK_RECORD="$dir/$key.record.json" IPYTHONDIR="$ipydir"
                   OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" PYTHONUNBUFFERED=1)
    [ "$pass" = cpu ] && vars+=(COURSEKIT_DEVICE=cpu)
    start=$(now)
    env -u COURSEKIT_DEVICE "${vars[@]}" timeout -k 10 "$limit" "$py" -m pytest -p no:cacheprovider -q \
        --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
        --nbval-cell-timeout "$limit" --junitxml "$dir/$key.junit.xml" "$nb" >"$dir/$key.log" 2>&1
    rc=$?
    secs=$(elapsed "$start")
    echo "$rc $secs" >"$dir/$key.status"
    local word=passed
    (( rc == 124 )) && word="TIMED OUT after ${limit}s"
    (( rc != 0 && rc != 124 )) && word="FAILED (pytest exit $rc)"
    printf '  [%s] %-28s %6ss  %s\n' "$pass" "$key" "$secs" "$word"
}
export -f run_notebook now elapsed time_left
export out ipydir py threads deadline

run_pass() {  # PASS: every notebook, JOBS at a time; then the logs of those that failed
    local pass=$1
    mkdir -p "$out/runs/$pass"
    local key nb rc
    while IFS=$'\t' read -r key nb; do printf '%s\0%s\0' "$key" "$nb"; done <"$out/notebooks.txt" |
        xargs -0 -n 2 -P "$jobs" bash -c 'run_notebook "$0" "$1" "$2"' "$pass"
    while IFS=$'\t' read -r key nb; do
        [ -f "$out/runs/$pass/$key.status" ] || continue
        read -r rc _ <"$out/runs/$pass/$key.status"
        if [ "$rc" != 0 ]; then
            echo "  ---- $pass: $key failed; the end of $out/runs/$pass/$key.log:"
            tail -n 40 "$out/runs/$pass/$key.log" | sed 's/^/  | /'
        fi
    done <"$out/notebooks.txt"
}

report() {  # [--decide PASS]: the table so far, printed and written to the output folder
    local heading="GPU check of ${#notebooks[@]} notebooks ($jobs at a time, $threads CPU threads each)"
    heading+="; torch $torch_version"
    [ $gpu_usable = yes ] && heading+="; $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)"
    "$py" scripts/gpu_check_report.py "$out" --heading "$heading" --gpu "$gpu_state" "$@"
}

if [ $gpu_usable = yes ]; then
    phase "nbval on the GPU (COURSEKIT_DEVICE unset)"
    run_pass gpu
    report >/dev/null  # written now, so a run cut short still leaves a table
fi
phase "nbval on the CPU (COURSEKIT_DEVICE=cpu)"
run_pass cpu

# ---------------------------------------------------------------- the exercise bank
bank=${GPU_CHECK_BANK_TESTS-tests/exercises}
if [ -n "$bank" ]; then
    phase "the exercise bank's tests"
    left=$(time_left)
    if (( left < 30 )); then
        say "skipped: the time budget is spent"
    else
        # xdist's workers each import torch and the bank: worth it from 4 cores on
        workers=$(( cores < 8 ? cores : 8 ))
        bank_args=(-p no:xdist)
        (( workers >= 4 )) && bank_args=(-n "$workers")
        read -r -a bank_targets <<<"$bank"
        OMP_NUM_THREADS=$(( workers >= 4 ? cores / workers : cores )) timeout -k 10 "$left" \
            "$py" -m pytest -p no:cacheprovider -q "${bank_args[@]}" "${bank_targets[@]}" >"$out/exercise_bank.log" 2>&1
        bank_rc=$?
        tail -n 15 "$out/exercise_bank.log"
        (( bank_rc == 0 )) || say "the exercise bank's tests FAILED (pytest exit $bank_rc)"
    fi
fi

# ---------------------------------------------------------------- the table
phase "table"
decide=cpu
[ $gpu_usable = yes ] && decide=gpu
report --decide "$decide"
rc=$?
echo "  (also in $out/gpu_check_table.txt; per-cell results in $out/gpu_check.json)"
if [ $gpu = yes ] && [ $gpu_usable = no ]; then rc=2; fi
finish $rc
