# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test serve worker migrate check lint format requirements bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP) ## play every flow against the bundled QTvoice and Slack stand-ins
	$(BIN)/python -m bot demo

test: $(STAMP) ## the whole suite (set TEST_DATABASE_URL to run it on PostgreSQL)
	$(BIN)/python -m pytest

serve: $(STAMP) ## run the bot with your .env
	$(BIN)/python -m bot serve

worker: $(STAMP)
	$(BIN)/python -m bot worker

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

check: $(STAMP)
	$(BIN)/python -m bot check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

requirements: $(STAMP) ## pin what Heroku installs (requirements.txt) to what pyproject resolves to
	$(BIN)/python scripts/pin_requirements.py > requirements.txt

bench: $(STAMP)
	$(BIN)/python bench/webhooks.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo.html

.PHONY: screenshots
screenshots: $(STAMP) ## the README's pictures (docs/screenshots/*.png) from the demo; needs chromium
	$(BIN)/python scripts/screenshots.py docs/screenshots
