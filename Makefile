# The whole set-up on a fresh machine: `make demo` or `make test`.
# Each creates .venv when missing and installs the pinned lock (requirements-dev.lock).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock

.PHONY: demo test bench lock chromium clean

demo: $(STAMP)
	$(BIN)/projector serve

test: $(STAMP) chromium
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_load.py

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "warning: /usr/bin/chromium is missing; install Debian's chromium package (as root: apt-get install chromium)"; \
	  fi; \
	fi

# Re-pin every dependency after changing pyproject.toml (needs the network).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet "torch==2.13.0" -e ".[dev,torch]"
	.lock-venv/bin/python -m pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/' > requirements-dev.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) build *.egg-info
