# Set-up is part of every target: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-sqlite lint bench postgres browser clean

run: $(STAMP)
	$(BIN)/checklist serve

# Two processes: the suite is several minutes of waiting on databases, servers and a browser.
test: $(STAMP) postgres browser
	$(BIN)/pytest -n 2

test-sqlite: $(STAMP) browser
	$(BIN)/pytest -n 2 --backends sqlite

lint: $(STAMP)
	$(BIN)/ruff check .

# Run by hand (the 1M-item runs need a few GB of disk): every benchmark in turn, JSON in
# bench/results/ and a Markdown summary in bench/results/summary.md (see bench/RESULTS.md).
bench: $(STAMP) postgres
	$(BIN)/python -m bench

postgres:
	@bash .ci/ensure-postgres

browser:
	@bash .ci/ensure-browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) var build .pytest_cache
