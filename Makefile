# Two commands on a fresh machine: `make run` and `make test` (see README.md).
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-fast lint bench bench-app load-test run-class check-nginx chromium clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Re-install only when the requirement files change.
$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(PY) serve.py --server.port $(PORT)

# Debian's chromium for the browser tests (never `playwright install`: no browser downloads here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core \
	    || echo "WARNING: could not install chromium; the browser tests will fail"; \
	fi

# pytest exits 5 when it collected no test: that is a failure here, never a green run.
test: $(VENV)/.dev-installed chromium
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc = 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -m "not e2e" -x -q

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/bench_trace.py

# Not tests: measurements and the deployment check (they print numbers and a verdict).
bench-app: $(VENV)/.dev-installed
	$(PY) benchmarks/bench_app.py

load-test: $(VENV)/.dev-installed chromium
	$(PY) benchmarks/load_classroom.py --students 20 --seconds 60

# One machine, two app processes behind nginx on :8080 (installs nginx when missing).
run-class: $(VENV)/.installed
	deploy/run_two_behind_nginx.sh

check-nginx: $(VENV)/.dev-installed chromium
	$(PY) benchmarks/check_nginx.py

clean:
	rm -rf $(VENV) .pytest_cache tests/e2e/artifacts
