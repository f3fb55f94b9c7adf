# Each target creates .venv when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench migration messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/plumb demo

test: $(STAMP)
	$(BIN)/python -m pytest

BENCHMARKS := pay_run outbox compliance census notifications

bench: $(STAMP)
	@for b in $(BENCHMARKS); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

# make migration m="what changed": autogenerate a migration from the models
migration: $(STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

# make messages: extract the notification texts into messages.pot and merge them into each language's catalog
# (then translate the new entries in notifications/locales/<language>/LC_MESSAGES/messages.po)
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ --no-location --sort-output --omit-header -o notifications/locales/messages.pot .
	$(BIN)/pybabel update -i notifications/locales/messages.pot -d notifications/locales --ignore-obsolete --ignore-pot-creation-date

clean:
	rm -rf $(VENV) instance .pytest_cache
