# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv first.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exit status 0 from a Python this project runs on: 3.11 or newer.
IS_311 := -c 'import sys; sys.exit(sys.version_info < (3, 11))'

# The newest Python 3.11+ on PATH, unless given: make PYTHON=/path/to/python3.12 demo.
# Each candidate is run, not just looked up: pyenv shims exist for versions that are not active.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach candidate,python3.13 python3.12 python3.11 python3,\
	$(shell $(candidate) $(IS_311) >/dev/null 2>&1 && echo $(candidate))))
endif

# A .venv made by an older Python (or one that no longer runs) is rebuilt, not reused.
ifneq ($(wildcard $(BIN)/python),)
ifneq ($(shell $(BIN)/python $(IS_311) >/dev/null 2>&1 && echo ok),ok)
$(STAMP): FORCE
endif
endif

.PHONY: help demo test serve worker migrate check lint format requirements bench clean
# `make` alone lists the targets below, each with what it does (the text after its ##).
.DEFAULT_GOAL := help

help: ## list these targets
	@echo "make TARGET, where TARGET is one of:"
	@sed -n 's/^\([a-z]*\):.*## \(.*\)/\1|\2/p' $(MAKEFILE_LIST) | awk -F'|' '{ printf "  %-13s %s\n", $$1, $$2 }'

# Progress goes to stderr, so `make manifest > manifest.json` stays pure JSON on a fresh clone.
$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) $(IS_311) >/dev/null 2>&1; then \
	  echo "qtslack needs Python 3.11 or newer to build .venv, and found none:" \
	    "$(if $(PYTHON),$(PYTHON) is $$($(PYTHON) --version 2>&1),python3.13 python3.12 python3.11 python3 are missing or older)." >&2; \
	  echo "Install one (Ubuntu: sudo apt install python3.11 python3.11-venv; macOS: brew install python@3.12)," \
	    "or name it: make PYTHON=/path/to/python3.11 $(or $(MAKECMDGOALS),demo)" >&2; \
	  exit 1; \
	fi
	@if [ -e $(BIN)/python ] && ! $(BIN)/python $(IS_311) >/dev/null 2>&1; then \
	  echo "rebuilding .venv: it was made by $$($(BIN)/python --version 2>&1 || echo a Python that no longer runs)" >&2; \
	  rm -rf $(VENV); \
	fi
	@echo "building .venv with $(PYTHON) ($$($(PYTHON) --version 2>&1)); this takes a minute the first time" >&2
	@$(PYTHON) -m venv $(VENV) >&2 || { rm -rf $(VENV); \
	  echo "$(PYTHON) could not create .venv; on Debian/Ubuntu install its venv package (e.g. python3.11-venv)" >&2; \
	  exit 1; }
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2
	@$(BIN)/python -m pip install --quiet -e '.[dev]' >&2
	@touch $(STAMP)

.PHONY: FORCE
FORCE:

demo: $(STAMP) ## play the demo scenarios against the bundled QTvoice and Slack stand-ins
	$(BIN)/python -m bot demo

test: $(STAMP) ## the whole suite, two processes a core (set TEST_DATABASE_URL to run it on PostgreSQL)
	$(BIN)/python -m pytest -n auto --dist worksteal

serve: $(STAMP) ## run the bot with your .env
	$(BIN)/python -m bot serve

worker: $(STAMP) ## the delivery worker and scheduled jobs alone, beside `serve --no-worker` (PostgreSQL)
	$(BIN)/python -m bot worker

migrate: $(STAMP) ## upgrade the database (DATABASE_URL) to this version's schema
	$(BIN)/python -m bot migrate

check: $(STAMP) ## is this deployment live? a line per check (settings, database, Slack, QTvoice), each failure with its fix
	$(BIN)/python -m bot check

.PHONY: manifest
manifest: $(STAMP) ## the Slack app manifest (JSON): Socket Mode, or HTTP with URL=https://your-app…
	@$(BIN)/python -m bot manifest $(if $(URL),--url $(URL),--socket-mode)

lint: $(STAMP) ## ruff, ruff format --check and mypy --strict, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot

format: $(STAMP) ## ruff format and ruff's fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

requirements: $(STAMP) ## pin what Heroku installs (requirements.txt) to what pyproject resolves to
	$(BIN)/python scripts/pin_requirements.py > requirements.txt

bench: $(STAMP) ## the benchmarks under bench/ (figures, never pass/fail)
	$(BIN)/python bench/ack.py
	$(BIN)/python bench/drain.py
	$(BIN)/python bench/month.py

clean: ## remove .venv, caches and demo.html
	rm -rf $(VENV) .pytest_cache .ruff_cache demo.html

.PHONY: screenshots
screenshots: $(STAMP) ## the README's pictures (docs/screenshots/*.png) from the demo; needs chromium and a colour emoji font
	$(BIN)/python scripts/screenshots.py docs/screenshots
