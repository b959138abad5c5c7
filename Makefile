# The two commands a new user needs: `make book` and `make test` (`make help` lists every target).
# Both create .venv and install the pinned requirements when needed, with the first Python >= 3.11
# found below, or the one named: make book PYTHON=/path/to/python3.12
PYTHON_CANDIDATES := python3.11 python3.12 python3.13 python3.14 python3
IS_NEW_ENOUGH := -c 'import sys; sys.exit(sys.version_info < (3, 11))'
# Evaluated only when .venv is created; a candidate counts only if it runs (a pyenv shim for a
# version that is not selected exits with an error) and is at least 3.11.
PYTHON ?= $(firstword $(foreach p,$(PYTHON_CANDIDATES),$(shell $(p) $(IS_NEW_ENOUGH) >/dev/null 2>&1 && echo $(p))))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NO_PYTHON = make: $(if $(PYTHON),PYTHON=$(PYTHON) is not a Python >= 3.11 that runs,no Python >= 3.11 \
	found (tried $(PYTHON_CANDIDATES))): install Python 3.11 or newer (python.org or your system's \
	packages), or name one: make $(or $(MAKECMDGOALS),venv) PYTHON=/path/to/python3.12
# The notebooks' kernelspec names this kernel; it runs the .venv's Python with convlib installed.
KERNEL := conv2d-book
KERNEL_NAME := Python 3 (Conv2D book .venv)

.PHONY: help book test venv lab lint format notebooks verify bench clean
.DEFAULT_GOAL := help

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) $(IS_NEW_ENOUGH) 2>/dev/null || { echo "$(NO_PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The notebooks store float32 results, and the last bits of those depend on the kernels the libraries
# pick for this CPU: OpenBLAS's (AVX2 Haswell against AVX-512 SkylakeX) and TensorFlow's oneDNN ones
# (AVX2 against AVX-512). The kernel fixes both at the AVX2 kernels, which every x86-64 machine with
# AVX2 runs, so `make notebooks` and JupyterLab compute on any such machine what is stored; nbval's
# kernel gets the same two variables from conftest.py (NOTEBOOK_ENV).
KERNEL_JSON := $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json
KERNEL_ENV := --env OPENBLAS_CORETYPE Haswell --env ONEDNN_MAX_CPU_ISA AVX2
$(KERNEL_JSON): $(STAMP) Makefile
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "$(KERNEL_NAME)" \
		$(KERNEL_ENV) >/dev/null
	$(GIT_FILTER)
	touch $(KERNEL_JSON)

# JupyterLab and `make notebooks` write different cell metadata (execution timestamps); nbstripout,
# as the git filter that .gitattributes names, leaves them out of what is committed and keeps the
# outputs, counts, cell ids and ch. 6's widget state. Configured only inside a git checkout.
GIT_FILTER := git rev-parse --git-dir >/dev/null 2>&1 && git config filter.nbstripout.clean \
	'"$(CURDIR)/$(BIN)/python" -m nbstripout --keep-output --keep-count --keep-id \
	--keep-metadata-keys metadata.widgets' && git config filter.nbstripout.smudge cat || true

help:  ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## /  make \1\t/' | expand -t 18

venv: $(KERNEL_JSON)  ## create .venv, install the pinned requirements and the book's kernel

# The notebooks run in a kernel with the two pins above (conftest.py); the unit tests keep this CPU's
# own kernels, so oneDNN's AVX-512 defects replay where the CPU has AVX-512.
test: $(KERNEL_JSON)  ## linters, unit/property/doctests and every chapter (nbval), two workers
	$(BIN)/ruff check convlib tests chapters
	$(BIN)/ruff format --check convlib tests
	$(BIN)/python -m pytest --nbval -n 2 --dist loadscope --no-loadscope-reorder --durations=20

# JupyterLab on the chapters, with the project's kernel. Extra options: make lab LAB_ARGS="--port=8899".
lab: $(KERNEL_JSON)  ## JupyterLab on chapters/ with the book's kernel
	$(BIN)/jupyter lab --notebook-dir=chapters $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

book: $(KERNEL_JSON)  ## build the HTML book into _build/html
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Book written to _build/html/index.html"

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check convlib tests chapters
	$(BIN)/ruff format --check convlib tests

format: $(STAMP)  ## ruff format and fix
	$(BIN)/ruff format convlib tests
	$(BIN)/ruff check --fix convlib tests

clean:  ## remove _build and the test caches (not .venv)
	rm -rf _build .pytest_cache .hypothesis

notebooks: $(KERNEL_JSON)  ## re-execute every chapter in place
	cd chapters && ../$(BIN)/jupyter-execute --inplace *.ipynb

# The long runs: >= 5,000 verifier configurations and 5,000 fuzz examples per test.
verify: $(STAMP)  ## the long runs: 5,000 fuzz examples per test and the full verification matrix
	CONVLIB_FUZZ=full $(BIN)/python -m pytest -q -p no:randomly tests/test_fuzz.py
	$(BIN)/python -m convlib.proof.verify --json verification/full.json

# One thread (the book's table) and all cores; each about a minute and a half on 2 cores.
# Idle OpenMP (PyTorch) and OpenBLAS threads would otherwise spin on the cores the next
# contender needs; these settings must be in place before the libraries load.
# OPENBLAS_CORETYPE unset: OpenBLAS picks the kernels it detects for this CPU, as it does where
# nobody set the variable (a machine that sets it to Haswell would run AVX2 kernels on AVX-512).
BENCH_ENV = env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4
bench: $(STAMP)  ## the benchmark suite at one and two threads (a few minutes each)
	$(BENCH_ENV) $(BIN)/python -m convlib.proof.bench --threads 1 --batch 1 8 --repeats 9 --json benchmarks/suite_cpu_1thread.json
	$(BENCH_ENV) $(BIN)/python -m convlib.proof.bench --threads 2 --batch 1 8 --repeats 9 --json benchmarks/suite_cpu_2threads.json
