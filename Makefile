# Set-up is part of every target: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-sqlite lint bench postgres browser clean

run: $(STAMP)
	$(BIN)/checklist serve

test: $(STAMP) postgres browser
	$(BIN)/pytest

test-sqlite: $(STAMP) browser
	$(BIN)/pytest --backends sqlite

lint: $(STAMP)
	$(BIN)/ruff check .

# Run by hand (minutes; the 1M-item runs need a few GB of disk): figures and JSON in bench/results/.
bench: $(STAMP) postgres
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.reminders --postgres postgresql://postgres@127.0.0.1:5432/test
	$(BIN)/python -m bench.reports --postgres postgresql://postgres@127.0.0.1:5432/test

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
