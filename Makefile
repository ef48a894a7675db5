# vaselib: `make demo` runs the whole pipeline offline; `make test` runs every test.
# Both create the virtual environment .venv and install everything on first use, with the
# versions CI tested (requirements-lock.txt; `make lock` rewrites it from pyproject.toml).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
EXTRAS := test,lab,ray
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export MPLBACKEND ?= Agg
# idle OpenMP threads sleep instead of spinning (a busy neighbour on 2 cores otherwise
# slows torch ~20x); benchmarks/bench_filtering.py measures it (its busy-machine rows)
export OMP_WAIT_POLICY ?= PASSIVE
# the python3 kernel that nbval starts must be this environment's Python
export JUPYTER_PATH := $(abspath $(VENV))/share/jupyter

.PHONY: install demo test test-fast nbval refresh-notebooks lab lock browser-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements-lock.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c requirements-lock.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)           ## the whole pipeline on the embedded synthetic data; reports in runs/<id>/
	$(VENV)/bin/vase demo

# pytest-xdist workers for make test: whole modules go to a worker (--dist loadscope), so
# module fixtures are built once, and the whole-demo module runs beside the rest of the
# suite instead of before it (tests/conftest.py puts it first, and the demo's models
# module second; --no-loadscope-reorder keeps that order, which xdist would otherwise
# replace by the number of tests per module)
TEST_WORKERS ?= 2

test: $(STAMP) browser-deps  ## unit, notebook, demo-regression and browser tests, then nbval
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder tests
	$(PY) -m pytest --nbval-lax --sanitize-with tests/nbval_sanitize.cfg \
		notebooks/03_clip_quality.ipynb notebooks/04_best_view.ipynb

test-fast: $(STAMP)      ## unit tests only (about three minutes)
	$(PY) -m pytest -m "not slow and not notebook and not browser" tests

browser-deps:            ## Chromium and ChromeDriver for the widget tests in a real browser
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	    apt-get update -qq >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else \
	    echo "note: the browser tests need chromium and chromium-driver (Debian: apt-get install chromium chromium-driver); they skip without them"; \
	  fi; \
	fi

refresh-notebooks: $(STAMP)  ## run the notebooks and store their outputs in notebooks/ (for nbval)
	$(VENV)/bin/vase refresh-notebooks

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

lock:                    ## resolve pyproject.toml afresh into requirements-lock.txt
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade "pip>=24"
	.venv-lock/bin/python -m pip install --quiet -e ".[$(EXTRAS)]"
	{ echo "# Exact versions CI tested (make lock). Used as pip constraints by make install."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | sort -f; } > requirements-lock.txt
	rm -rf .venv-lock

clean:
	rm -rf runs data/cache data/demo-corpus data/demo-derived
