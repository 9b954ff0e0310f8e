# LLM Foundations: one entry point for learners, instructors and CI.
#   make venv     set up .venv only (first time: about 1.9 GB, a few minutes)
#   make lab      set up .venv (first time only) and open the course in JupyterLab at chapter 0
#   make test     lint, package tests, and every notebook checked against its stored outputs
#   make execute  re-run every notebook in place in a clean kernel (after changing course_utils)
#   make timings  re-run every notebook on 2 cores, record its run time, update the chapter tables
#   make guide    rewrite the run-time table of docs/instructors.md from the recorded run times
#   make slides   install jupyterlab-rise (the `slides` extra) and open JupyterLab to present
#   make bench    the performance benchmarks under bench/
#   make site     build the course website (static HTML, stored outputs) into build/site/html

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
# Elsewhere than this kind of machine, a plain torch pin may resolve to a CUDA build.
# Point pip at PyTorch's CPU wheels with: make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_FLAGS := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
STAMP := $(VENV)/.installed
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
PORT ?= 8888

.PHONY: venv lab slides test lint format execute timings guide bench site clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) $(TORCH_FLAGS) torch
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) --editable ".[lab,test,site]"
	touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
		--ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb $(ALLOW_ROOT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

slides: $(STAMP)
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) --editable ".[slides]"
	$(MAKE) lab

test: lint
	$(BIN)/python -m pytest --durations=10

execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py

timings: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --timings --cores 2
	$(BIN)/python tools/execute_notebooks.py notebooks/00_welcome.ipynb
	$(BIN)/python tools/runtime_table.py

guide: $(STAMP)
	$(BIN)/python tools/runtime_table.py

# The recipes benchmark reads Tiny Shakespeare (karpathy/char-rnn), which the course does not ship.
TINY_SHAKESPEARE ?=
bench: $(STAMP)
	@export TINY_SHAKESPEARE="$(TINY_SHAKESPEARE)"; for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

site: $(STAMP)
	$(BIN)/python tools/build_site.py

clean:
	rm -rf $(VENV) build *.egg-info
