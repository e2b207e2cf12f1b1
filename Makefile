# imgsearch — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LIBRARY ?= $(HOME)/Pictures
DATA ?= ../shared/data/faces
SRC := libs/contracts libs/common libs/clip services/ingest services/embed services/search services/gateway services/faces services/runner
STAMP := $(VENV)/.installed
REQS := $(wildcard requirements/*.txt services/*/requirements.txt)

.PHONY: install run test lint typecheck protos check-protos bench-embed bench-faces bench-cluster clean

$(STAMP): $(REQS)
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

clean:
	rm -rf $(VENV) .cache
