# One command runs the demo, one runs the tests; each sets up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Pythons edgeops supports (pyproject's requires-python and up): `make test-all` runs the suite on each, in
# its own .venv-X.Y/, with an interpreter found by .ci/find-python (PATH, pyenv, uv).
PYTHONS ?= 3.11 3.12 3.13

.PHONY: demo test test-all print-pythons lint typecheck bench clean
# The per-Python venvs are built by a pattern rule: without this, make would delete their stamps after each run.
.PRECIOUS: .venv-%/.installed

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

.venv-%/.installed: pyproject.toml
	@test -x .venv-$*/bin/python || { interpreter=$$(.ci/find-python $*) && $$interpreter -m venv .venv-$*; }
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -e '.[dev]'
	@touch $@

demo: $(STAMP)
	$(BIN)/edgeops --demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole suite on every Python of PYTHONS, one after the other (they share the lab's addresses and two cores
# go further that way); every one runs even when an earlier one fails, and the summary says which failed.
test-all:
	@failed=""; \
	for version in $(PYTHONS); do \
		started=$$(date +%s); \
		$(MAKE) --no-print-directory test-$$version || failed="$$failed $$version"; \
		echo "test-all: Python $$version took $$(( $$(date +%s) - started )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-all: FAILED on Python$$failed" >&2; exit 1; fi; \
	echo "test-all: passed on Python $(PYTHONS)"

# test-3.12 and so on: the whole suite on that Python (any X.Y, not only those of PYTHONS).
test-%: .venv-%/.installed
	.venv-$*/bin/python -c 'import sys; print("Python", sys.version.split()[0], "at", sys.executable)'
	.venv-$*/bin/python -m pytest $(PYTEST_ARGS)

print-pythons:
	@echo $(PYTHONS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/sessions.py --devices 200 --seconds 20
	$(BIN)/python bench/fanout.py --devices 200
	$(BIN)/python bench/console.py --devices 200
	$(BIN)/python bench/lab.py --devices 200 --seconds 30

clean:
	rm -rf $(VENV) .venv-*/ .pytest_cache .ruff_cache .mypy_cache
