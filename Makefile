# The two commands of the README: `make run` (demo service on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
PYTEST_ARGS ?=
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: setup run test lint

$(STAMP): requirements.txt client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

run: setup
	mkdir -p var/static
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --base-url http://127.0.0.1:$(PORT)
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)
