# The two fresh-machine commands of the README: `make run` and `make test`.
# Both set up a project-local virtual environment (.venv) first: nothing is installed into the system Python.
# PYTHON: the interpreter that creates the virtual environment
PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.genarch-installed

.PHONY: setup run test

setup: $(STAMP)

$(VPY):
	@command -v dot >/dev/null 2>&1 || { echo "installing graphviz (dot) from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q graphviz >/dev/null 2>&1 || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q graphviz >/dev/null; }; }
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }

# reinstalled when pyproject.toml changes; torch first, pinned: a bare `torch` requirement with no torch
# installed pulls GBs of CUDA packages
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q -e ".[test]"
	touch $@

run: setup
	$(VPY) -m genarch

# two pytest workers, one test file each: the suite is mostly process start-ups and small trainings
# (about 7.5 min on 2 cores, 15 min in one worker)
test: setup
	$(VPY) -m pytest -q -n 2 --dist loadfile
