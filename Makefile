# Developer shortcuts; each target is a documented command in the README.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test check proto demo bench clean

setup:            ## Debian packages + .venv with vantage[dev]
	bash scripts/setup.sh

test:             ## the whole suite, as CI runs it
	bash scripts/test.sh

check:            ## static checks only
	$(PY) tools/gen_proto.py --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

proto:            ## regenerate vantage/v1 from proto/vantage/v1/*.proto
	$(PY) tools/gen_proto.py

demo:             ## the lab demo
	bash scripts/demo.sh

bench:            ## every benchmark, side by side with its peer
	$(PY) -m bench

clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache
