# The course's commands. Each target bootstraps .venv itself when it is missing or stale.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.coursekit-installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
PYTEST := $(PY) -m pytest

BOOK := book/_build

.PHONY: lab test unit nbval browser binder lint notebooks bench doctor gpu-check clean book repository scale \
	bench-peers

$(STAMP): pyproject.toml scripts/bootstrap.sh scripts/install_torch.sh
	bash scripts/bootstrap.sh $(VENV)

## make lab: install everything, copy the notebooks into your folder (once) and open JupyterLab on it
lab: $(STAMP)
	$(VENV)/bin/coursekit lab

## make test: install everything, then ruff, mypy, unit tests, nbval (strict) on every notebook, the book, browser and Binder tests
test: $(STAMP)
	bash scripts/run_tests.sh $(VENV)

lint: $(STAMP)
	$(PY) -m ruff check coursekit tests benchmarks scripts book
	$(PY) -m mypy

unit: $(STAMP)
	$(PYTEST) -n 2 -m "not browser and not binder" tests

nbval: $(STAMP)
	$(PYTEST) -p no:cacheprovider --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-n 2 --dist loadfile $(NOTEBOOKS)

browser: $(STAMP) book
	$(PYTEST) -m browser -rs tests/browser

binder: $(STAMP)
	$(PYTEST) -m binder tests/binder

## make scale: the README's Slurm array job on a one-node cluster started here (root; installs Slurm if missing)
scale: $(STAMP)
	COURSEKIT_SCALE_TEST=1 $(PYTEST) -p no:cacheprovider -s -rs tests/grading/test_slurm.py

## make notebooks: re-execute every notebook in place on the CPU so stored outputs are current
notebooks: $(STAMP)
	COURSEKIT_DEVICE=cpu $(PY) -m coursekit.notebooks $(NOTEBOOKS)

## make book: the course website, from the notebooks' stored outputs (nothing executed), into book/_build/html
book: $(STAMP)
	$(PY) -m sphinx -b html -n -W --keep-going -q book $(BOOK)/html
	@touch $(BOOK)/.built
	@echo "book: open $(BOOK)/html/index.html (or serve it: $(PY) -m http.server -d $(BOOK)/html)"

## make repository REPO=owner/name: set the repository's GitHub path used by the README's links and the book
repository: $(STAMP)
	@test -n "$(REPO)" || { echo "usage: make repository REPO=owner/name (now: $$($(PY) scripts/repository.py))"; exit 2; }
	$(PY) scripts/repository.py "$(REPO)"

## make bench: every benchmark under benchmarks/, each printing its table
bench: $(STAMP)
	bash scripts/run_benchmarks.sh $(VENV)

## make bench-peers: coursekit grade against nbgrader and otter-grader (from PyPI, in their own venv), same class
bench-peers: $(STAMP)
	bash scripts/bench_peers.sh $(VENV)

doctor: $(STAMP)
	$(VENV)/bin/coursekit doctor

## make gpu-check: on a machine with an NVIDIA GPU, every notebook on CUDA and on the CPU, with a table
## (its own lean environment, .venv-gpu; without a GPU, only the CPU half, in .venv; see the script's --help)
gpu-check:
	bash scripts/gpu_check.sh

clean:
	rm -rf $(VENV) .venv-gpu $(BOOK) test-output bench-output gpu-check-output .pytest_cache .ruff_cache .hypothesis
