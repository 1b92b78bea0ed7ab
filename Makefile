# The course's commands. Each target bootstraps .venv itself when it is missing or stale.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.coursekit-installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
PYTEST := $(PY) -m pytest

.PHONY: lab test unit nbval browser binder lint notebooks bench doctor gpu-check clean

$(STAMP): pyproject.toml scripts/bootstrap.sh scripts/install_torch.sh
	bash scripts/bootstrap.sh $(VENV)

## make lab: install everything and open JupyterLab on notebooks/ (free port, prints the URL)
lab: $(STAMP)
	$(VENV)/bin/coursekit lab

## make test: install everything, then ruff, unit tests, nbval (strict) on every notebook, browser and Binder tests
test: $(STAMP)
	bash scripts/run_tests.sh $(VENV)

lint: $(STAMP)
	$(PY) -m ruff check coursekit tests benchmarks scripts

unit: $(STAMP)
	$(PYTEST) -n 2 -m "not browser and not binder" tests

nbval: $(STAMP)
	$(PYTEST) -p no:cacheprovider --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-n 2 --dist loadfile $(NOTEBOOKS)

browser: $(STAMP)
	$(PYTEST) -m browser -rs tests/browser

binder: $(STAMP)
	$(PYTEST) -m binder tests/binder

## make notebooks: re-execute every notebook in place on the CPU so stored outputs are current
notebooks: $(STAMP)
	COURSEKIT_DEVICE=cpu $(PY) -m coursekit.notebooks $(NOTEBOOKS)

## make bench: every benchmark under benchmarks/, each printing its table
bench: $(STAMP)
	bash scripts/run_benchmarks.sh $(VENV)

doctor: $(STAMP)
	$(VENV)/bin/coursekit doctor

## make gpu-check: on a machine with an NVIDIA GPU, every notebook on CUDA and on the CPU, with a table
## (its own lean environment, .venv-gpu; without a GPU, only the CPU half, in .venv; see the script's --help)
gpu-check:
	bash scripts/gpu_check.sh

clean:
	rm -rf $(VENV) .venv-gpu test-output bench-output gpu-check-output .pytest_cache .ruff_cache .hypothesis
