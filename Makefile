# galibot: `make run` serves the API on the shipped data, `make test` runs the tests.
# Both set everything up on a fresh machine: the virtualenv, the packages and the compiled graph.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
AREA   ?= basin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install kernels graph bundles run test test-fast bench lint clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml package-lock.json
	@# Debian's packages, installed as root: nginx buffers slow clients in front of gunicorn (api/serve.py), and
	@# chromium runs the web planner's browser tests (tests/test_web_planner.py; skipped where it is missing)
	@missing=""; \
	  { command -v nginx >/dev/null || test -x /usr/sbin/nginx; } || missing="$$missing nginx"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null || \
	      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
	    else echo "galibot: missing Debian packages:$$missing (apt-get install$$missing as root)"; fi; fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# The web planner's front end (MapLibre GL JS, axe-core), exactly as package-lock.json pins it
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
	  else echo "galibot: npm is missing, so the web planner at / has no map (apt-get install npm)"; fi
	touch $(STAMP)

# Compile the route's numba kernels into their cache (about 15 s once; later runs load them in under a second),
# so neither a test nor a server's start pays for it.
kernels: install
	$(BIN)/python -m routing.kernels

# Compile the graph of the whole basin into var/ (about 30 s once; later runs load the cache).
graph: install
	$(BIN)/galibot build --bbox $(AREA)

# The offline bundles of the basin and its four sub-regions (about 40 s once; later runs find them built).
bundles: graph
	$(BIN)/galibot bundle --all

run: graph bundles kernels
	$(BIN)/python -m api.serve --host $(HOST) --port $(PORT)

# Two pytest workers (pytest-xdist), a test file each at a time: the suite is mostly one core's work per test.
test: install kernels
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The fast tier (under a minute): units and the small Lens area; everything on the whole basin is marked slow.
test-fast: install kernels
	$(BIN)/python -m pytest -m "not slow"

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	@# wrk, the compiled load generator of the throughput section (Debian's package, as root)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y \
	  --no-install-recommends wrk >/dev/null; } || echo "galibot: wrk is missing (apt-get install wrk as root)"
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Every figure on the whole data into BENCHMARKS.md (about 20 min; `python -m bench.run gpx` reruns one section).
bench: graph kernels $(BENCH_STAMP)
	$(BIN)/python -m bench.run

lint: install
	$(BIN)/ruff check routing api poi_data gpx_exports tests bench

clean:
	rm -rf var/graph-*.npz .pytest_cache
