# Two commands for a new user (see README):  make report   and   make test
# PYTHON is the interpreter the venv is made from (3.11 to 3.13):  PYTHON=python3.13 make test
PYTHON ?= python3
# The interpreter itself. A bare name that does not run (pyenv's shim refuses python3.13
# when the global version is another one) is looked up under `pyenv root`/versions.
PYEXE  := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null || \
            $(if $(findstring /,$(PYTHON)),true,for p in "$$(pyenv root 2>/dev/null)"/versions/*/bin/$(PYTHON); do \
              "$$p" -c '' 2>/dev/null && echo "$$p"; done | sort -V | tail -n 1))
PYVER  := $(shell $(if $(PYEXE),$(PYEXE),false) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# The default interpreter uses .venv; any other one gets its own folder (.venv-py3.13), so
# switching interpreters never mixes two Pythons' packages in one venv.
VENV   ?= $(if $(filter python3,$(PYTHON)),.venv,.venv-py$(or $(PYVER),unknown))
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-py$(PYVER)
DATA   ?= synthetic
ARGS   ?=

.PHONY: report test install lint format data clean bench help

help:
	@echo "make report   run the whole study on the default (simulated) data into reports/"
	@echo "make test     run the fast test suite (ARGS='-m slow' for the slow one, as CI does)"
	@echo "make lint     ruff check + format check"
	@echo "make bench    run the benchmarks (slow)"

$(STAMP): requirements.txt pyproject.toml
	@test -n "$(PYVER)" || { echo "error: PYTHON=$(PYTHON) is not a working Python interpreter" >&2; exit 2; }
	@# a venv made by another Python version (say python3 was 3.11 and is now 3.12) is remade
	@if test -x $(BIN)/python && test "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$(PYVER)"; then \
	  echo "$(VENV) was made by another Python version; recreating it with $(PYTHON) ($(PYVER))"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYEXE)"; $(PYEXE) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(BIN)/crm-research run --data $(DATA) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks notebooks
	$(BIN)/ruff check --fix src tests benchmarks notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf data/processed/* figures/*.png reports/*
