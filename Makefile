# Two entry points, each sets up from nothing:
#   make demo  -> .venv + the Taiwan credit example's report in out/taiwan_credit/
#   make test  -> .venv + lint, type check and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.govreport-installed

.PHONY: demo test lint typecheck pytest benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build on this machine; a bare range would pull CUDA wheels.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/govreport run \
	  --model examples/taiwan_credit/model.pt \
	  --data examples/taiwan_credit/train.csv \
	  --test-data examples/taiwan_credit/test.csv \
	  --target default.payment.next.month --drop ID \
	  --out out/taiwan_credit

lint: $(STAMP)
	$(BIN)/ruff check govreport tests benchmarks examples
	$(BIN)/ruff format --check govreport tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

benchmark: $(STAMP)
	$(BIN)/python benchmarks/regions.py

clean:
	rm -rf $(VENV) out dist build .pytest_cache .mypy_cache .ruff_cache
