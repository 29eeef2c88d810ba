# Two commands for a new user (see README):  make report   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= synthetic
ARGS   ?=

.PHONY: report test install lint format data clean bench help

help:
	@echo "make report   run the whole study on the default (simulated) data into reports/"
	@echo "make test     run the test suite"
	@echo "make lint     ruff check + format check"
	@echo "make bench    run the benchmarks (slow)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(BIN)/crm-research run --data $(DATA) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf data/processed/* figures/*.png reports/*
