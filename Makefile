# imgsearch — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LIBRARY ?= $(HOME)/Pictures
DATA ?= ../shared/data/faces
SRC := libs/contracts libs/common libs/clip services/ingest services/embed services/search services/gateway services/faces services/runner services/reconcile services/cli
STAMP := $(VENV)/.installed
REQS := $(wildcard requirements/*.txt services/*/requirements.txt)

.PHONY: install run test test-ui chromium lint typecheck protos check-protos bench-embed bench-faces bench-cluster bench-ingest bench-progress bench-ui test-faults fuzz-api clean

$(STAMP): $(REQS) tools/link_sources.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) tools/link_sources.py $(SRC)
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) -m imgsearch.runner --ingest "$(LIBRARY)"

test: $(STAMP) chromium
	$(PY) -m pytest

# Browser tests (Playwright driving Debian's chromium) against the whole stack with auth on.
test-ui: $(STAMP) chromium
	$(PY) -m pytest tests/ui

# The browser the UI tests launch by path: $IMGSEARCH_TEST_CHROMIUM, else Debian's package.
CHROMIUM := $(or $(IMGSEARCH_TEST_CHROMIUM),/usr/bin/chromium)
chromium:
	@if command -v "$(CHROMIUM)" >/dev/null; then :; \
	elif [ -n "$(IMGSEARCH_TEST_CHROMIUM)" ]; then \
		echo "IMGSEARCH_TEST_CHROMIUM=$(IMGSEARCH_TEST_CHROMIUM) is not an executable" >&2; exit 1; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
			|| { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; \
	else \
		echo "the UI tests need Chromium: run 'sudo apt-get install -y chromium' (Debian/Ubuntu)" \
			"or set IMGSEARCH_TEST_CHROMIUM to a Chromium binary" >&2; exit 1; \
	fi

# Not part of `make test`: the stack as separate processes, hostile files, SIGKILLed workers, a NATS outage.
test-faults: $(STAMP)
	PYTHONPATH=bench $(PY) -m faults --data ../shared/data

# Not part of `make test` (which runs a smaller one): Schemathesis over the gateway's OpenAPI against the
# whole stack (random CLIP, auth off unless IMGSEARCH_AUTH__MODE says otherwise); no request may get a 5xx.
fuzz-api: $(STAMP)
	$(PY) bench/fuzz_api.py --data ../shared/data

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy libs/common libs/clip services bench tools

protos: $(STAMP)
	$(PY) tools/gen_protos.py

bench-embed: $(STAMP)
	$(PY) bench/bench_embed.py

bench-faces: $(STAMP)
	$(PY) bench/bench_faces.py --data "$(DATA)"

bench-cluster: $(STAMP)
	$(PY) bench/bench_cluster.py

bench-ingest: $(STAMP)
	$(PY) bench/bench_ingest.py --data ../shared/data

bench-progress: $(STAMP)
	$(PY) bench/bench_progress.py

bench-ui: $(STAMP)
	$(PY) bench/bench_ui.py

clean:
	rm -rf $(VENV) .cache
