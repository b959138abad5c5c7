# The two commands a new user needs: `make book` and `make test`.
# Both create .venv (Python 3.11) and install the pinned requirements when needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The notebooks' kernelspec names this kernel; it runs the .venv's Python with convlib installed.
KERNEL := conv2d-book
KERNEL_NAME := Python 3 (Conv2D book .venv)

.PHONY: book test venv lab lint format notebooks verify bench clean

$(STAMP): requirements.txt pyproject.toml
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
	touch $(KERNEL_JSON)

venv: $(KERNEL_JSON)

# The notebooks run in a kernel with the two pins above (conftest.py); the unit tests keep this CPU's
# own kernels, so oneDNN's AVX-512 defects replay where the CPU has AVX-512.
test: $(KERNEL_JSON)
	$(BIN)/ruff check convlib tests chapters
	$(BIN)/ruff format --check convlib tests
	$(BIN)/python -m pytest --nbval -n 2 --dist loadscope

# JupyterLab on the chapters, with the project's kernel. Extra options: make lab LAB_ARGS="--port=8899".
lab: $(KERNEL_JSON)
	$(BIN)/jupyter lab --notebook-dir=chapters $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

book: $(KERNEL_JSON)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Book written to _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check convlib tests chapters
	$(BIN)/ruff format --check convlib tests

format: $(STAMP)
	$(BIN)/ruff format convlib tests
	$(BIN)/ruff check --fix convlib tests

clean:
	rm -rf _build .pytest_cache .hypothesis

notebooks: $(KERNEL_JSON)
	cd chapters && ../$(BIN)/jupyter-execute --inplace *.ipynb

# The long runs: >= 5,000 verifier configurations and 5,000 fuzz examples per test.
verify: $(STAMP)
	CONVLIB_FUZZ=full $(BIN)/python -m pytest -q -p no:randomly tests/test_fuzz.py
	$(BIN)/python -m convlib.proof.verify --json verification/full.json

# One thread (the book's table) and all cores; each about a minute and a half on 2 cores.
# Idle OpenMP (PyTorch) and OpenBLAS threads would otherwise spin on the cores the next
# contender needs; these settings must be in place before the libraries load.
# OPENBLAS_CORETYPE unset: OpenBLAS picks the kernels it detects for this CPU, as it does where
# nobody set the variable (a machine that sets it to Haswell would run AVX2 kernels on AVX-512).
BENCH_ENV = env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4
bench: $(STAMP)
	$(BENCH_ENV) $(BIN)/python -m convlib.proof.bench --threads 1 --batch 1 8 --repeats 9 --json benchmarks/suite_cpu_1thread.json
	$(BENCH_ENV) $(BIN)/python -m convlib.proof.bench --threads 2 --batch 1 8 --repeats 9 --json benchmarks/suite_cpu_2threads.json
