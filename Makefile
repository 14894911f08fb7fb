# Two entry points a fresh machine needs: `make demo` and `make test`.
# Each creates .venv if missing and installs what it needs (pip extras, and
# Debian packages when run as root), then does its job.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
DEBS   := git xz-utils bzip2 zstd p7zip-full zpaq chromium bubblewrap

.PHONY: demo test bench notebooks clean-venv debs

demo: $(VENV)/.demo-deps
	$(PY) -m deeploop demo

test: $(VENV)/.test-deps
	$(PY) -m pytest -q

# Re-execute the example notebooks in place (commit them executed; make test checks
# them with nbval). Runs go to a throw-away folder, never ./runs; paths under it are
# written as $DEEPLOOP_RUNS in the outputs, so no machine's temporary folder is committed.
notebooks: $(VENV)/.test-deps
	root=$$(mktemp -d -t deeploop-nbval-XXXXXX) && \
	DEEPLOOP_RUNS=$$root MPLBACKEND=Agg $(PY) -m jupyter nbconvert --to notebook --execute \
	  --inplace --ExecutePreprocessor.record_timing=False \
	  --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.timeout=600 \
	  notebooks/*.ipynb && \
	$(PY) notebooks/scrub_paths.py $$root notebooks/*.ipynb; status=$$?; rm -rf $$root; exit $$status

bench: $(VENV)/.test-deps
	$(PIP) install -e '.[bench]'
	for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "deeploop needs Python 3.10+"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.demo-deps: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e '.[ml,notebook]'
	@touch $@

$(VENV)/.test-deps: pyproject.toml | $(VENV)/bin/python debs
	$(PIP) install -e '.[ml,notebook,dask,dev]'
	@touch $@

# Debian packages for the compressor benchmark, git workspaces and the real
# browser test; installed only when running as root on a Debian machine.
debs:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	fi

clean-venv:
	rm -rf $(VENV)
