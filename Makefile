# vaselib: `make demo` runs the whole pipeline offline; `make test` runs every test.
# Both create the virtual environment .venv and install everything on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export MPLBACKEND ?= Agg
# the python3 kernel that papermill and nbval start must be this environment's Python
export JUPYTER_PATH := $(abspath $(VENV))/share/jupyter

.PHONY: install demo test test-fast nbval refresh-notebooks lab clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

demo: $(STAMP)           ## the whole pipeline on the embedded synthetic data; reports in runs/<id>/
	$(VENV)/bin/vase demo

test: $(STAMP)           ## unit, slow and notebook tests, then the nbval regression suite
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval-lax --sanitize-with tests/nbval_sanitize.cfg notebooks

test-fast: $(STAMP)      ## unit tests only (seconds)
	$(PY) -m pytest -m "not slow and not notebook" tests

refresh-notebooks: $(STAMP)  ## run the demo and store its outputs in notebooks/ (for nbval)
	$(VENV)/bin/vase demo --refresh-notebooks

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf runs data/cache data/demo-corpus data/demo-derived
