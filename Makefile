# The two fresh-machine commands of the README: `make run` and `make test`.
PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: setup run test

setup:
	@command -v dot >/dev/null 2>&1 || { echo "installing graphviz (dot) from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q graphviz >/dev/null 2>&1 || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q graphviz >/dev/null; }; }
	# torch first, pinned: a bare `torch` requirement with no torch installed pulls GBs of CUDA packages
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test]"

run: setup
	$(PYTHON) -m genarch

test: setup
	$(PYTHON) -m pytest -q
