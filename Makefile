# Each target creates .venv when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench migration messages clean app app-types check-app

# The phone app (app/): Node's packages installed when the lock file changes, the build redone when a source does.
APP_DEPS := app/node_modules/.installed
APP_BUILT := app/.built
APP_SOURCES := $(shell find app/src app/public -type f 2>/dev/null) app/index.html app/vite.config.ts \
	app/tsconfig.json app/package.json app/package-lock.json
# Node 20 or newer (Vite 8 needs it); `make demo` serves the API alone without it.
HAVE_NODE := $(shell node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null && echo yes)
OPENAPI_TS := npx openapi-typescript --default-non-nullable=false

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory app
else
	@echo "Node 20 or newer was not found: serving the API only. Install Node 20+ and run 'make app' for the phone app at /app/."
endif
	$(BIN)/plumb demo

$(APP_DEPS): app/package.json app/package-lock.json
	cd app && npm ci --no-audit --no-fund
	touch $@

$(APP_BUILT): $(APP_DEPS) $(APP_SOURCES)
	cd app && npx vite build
	touch $@

app: $(APP_BUILT)

# The API client's types, from the document the Python app answers at /openapi.json (no server needed).
app-types: $(STAMP) $(APP_DEPS)
	$(BIN)/plumb openapi -o app/openapi.json
	cd app && $(OPENAPI_TS) openapi.json -o src/api/schema.d.ts

# Fails when the committed types differ from the API's document, when the app no longer type-checks against them
# (an endpoint it calls was removed or changed), or when its unit tests fail.
check-app: $(STAMP) $(APP_DEPS)
	@tmp=$$(mktemp -d) && $(BIN)/plumb openapi -o $$tmp/openapi.json 2>/dev/null \
	  && (cd app && $(OPENAPI_TS) $$tmp/openapi.json -o $$tmp/schema.d.ts >/dev/null 2>&1) \
	  && if ! diff -u app/src/api/schema.d.ts $$tmp/schema.d.ts > $$tmp/types.diff; then \
	    head -n 40 $$tmp/types.diff; \
	    echo "app/src/api/schema.d.ts differs from the API's OpenAPI document: run 'make app-types' and commit it"; \
	    rm -rf $$tmp; exit 1; fi; rm -rf $$tmp
	cd app && npx tsc --noEmit
	cd app && npx vitest run

test: $(STAMP)
	$(BIN)/python -m pytest

BENCHMARKS := pay_run outbox compliance census notifications app
# These need PostgreSQL (DATABASE_URL=postgresql+psycopg://...); scale keeps the book it builds, so a rerun only times.
POSTGRES_BENCHMARKS := plan_setup scale

bench: $(STAMP)
	@for b in $(BENCHMARKS); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done
	@case "$$DATABASE_URL" in postgresql*) \
	  for b in $(POSTGRES_BENCHMARKS); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done;; \
	  *) echo "== skipped bench/plan_setup.py and bench/scale.py: they need DATABASE_URL=postgresql+psycopg://...";; esac

# make migration m="what changed": autogenerate a migration from the models
migration: $(STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

# make messages: extract the notification texts into messages.pot and merge them into each language's catalog
# (then translate the new entries in notifications/locales/<language>/LC_MESSAGES/messages.po)
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ --no-location --sort-output --omit-header -o notifications/locales/messages.pot .
	$(BIN)/pybabel update -i notifications/locales/messages.pot -d notifications/locales --ignore-obsolete --ignore-pot-creation-date

clean:
	rm -rf $(VENV) instance .pytest_cache app/node_modules app/dist $(APP_BUILT) test-output
