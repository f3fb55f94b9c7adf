# Each target creates .venv when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench migration clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/plumb demo

test: $(STAMP)
	$(BIN)/python -m pytest

BENCHMARKS := pay_run outbox compliance census

bench: $(STAMP)
	@for b in $(BENCHMARKS); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

# make migration m="what changed": autogenerate a migration from the models
migration: $(STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

clean:
	rm -rf $(VENV) instance .pytest_cache
