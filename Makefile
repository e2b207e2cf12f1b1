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

.PHONY: install run test lint typecheck protos check-protos bench-embed bench-faces bench-cluster bench-ingest bench-progress test-faults clean

$(STAMP): $(REQS) tools/link_sources.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) tools/link_sources.py $(SRC)
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) -m imgsearch.runner --ingest "$(LIBRARY)"

test: $(STAMP)
	$(PY) -m pytest

# Not part of `make test`: the stack as separate processes, hostile files, SIGKILLed workers, a NATS outage.
test-faults: $(STAMP)
	PYTHONPATH=bench $(PY) -m faults --data ../shared/data

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

clean:
	rm -rf $(VENV) .cache
