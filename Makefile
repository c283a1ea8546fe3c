# ssl_plugins — set-up, demo and tests on a fresh machine.
#   make demo   BYOL on Fashion-MNIST (15-18 min on 2 CPU cores) + kNN and linear probe vs raw pixels
#   make test   the test suite (CPU, a few minutes)
#   make lint   flake8 + isort (setup.cfg) over the code, tests and configs
#   make setup-benchmark   the benchmark extra (lightly, for the DINO parity
#               tests, which skip without it; .ci/run installs it)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA := /usr/share/datasets/fashion-mnist
DEMO_CONFIG := configs/byol/byol_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_fashion-mnist_online-knn.py
DEMO_WORK_DIR := work_dirs/demo_byol
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export OMP_NUM_THREADS ?= 1
LINT_PATHS := ssl_plugins tools benchmarks tests configs setup.py

.PHONY: setup setup-benchmark data demo test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements/*.txt setup.py
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/constraints.txt -r requirements.txt
	$(PY) -m pip install -q -c requirements/constraints.txt --no-deps -e .
	touch $@

setup-benchmark: $(VENV)/.installed-benchmark

$(VENV)/.installed-benchmark: $(VENV)/.installed requirements/benchmark.txt requirements/constraints.txt
	$(PY) -m pip install -q -c requirements/constraints.txt -r requirements/benchmark.txt
	touch $@

data:
	@if [ ! -f $(DATA)/train-images-idx3-ubyte.gz ]; then \
	  echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; \
	fi

demo: setup data
	OMP_NUM_THREADS=1 $(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)
	OMP_NUM_THREADS=2 $(PY) tools/knn_eval.py $(DEMO_CONFIG) \
	  $$(cat $(DEMO_WORK_DIR)/last_checkpoint) \
	  --raw-pixels --linear --k 20 200
	$(PY) tools/analysis/plot_curves.py $(DEMO_WORK_DIR)

test: setup data
	OMP_NUM_THREADS=1 $(PY) -m pytest -q tests

# flake8 with tools/lint_py38_annotations.py (Python 3.8 typing), isort order
lint: setup
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)

clean:
	rm -rf $(DEMO_WORK_DIR) .pytest_cache
