# Set-up and the main commands. `make demo` and `make test` work on a fresh
# machine with Python >= 3.10 and the package registries: each creates the
# virtual environment .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint format docs docs-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A bare `torch` requirement pulls a multi-GB CUDA build (PyPI's Linux wheels
# of torch are CUDA builds): where no NVIDIA GPU is present, install the CPU
# wheel first, from PyTorch's CPU index (a local wheel folder that pip is
# configured with, `find-links`, also counts). Where neither can be reached,
# PyPI's wheel is installed, and the step says so.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
$(VENV)/.torch: | $(BIN)/python
	if command -v nvidia-smi >/dev/null 2>&1; then \
		$(BIN)/python -m pip install -q "torch>=2.4"; \
	elif $(BIN)/python -m pip install -q torch==2.13.0 \
			--index-url $(TORCH_CPU_INDEX) --timeout 20 --retries 1; then \
		:; \
	else \
		echo "No CPU build of torch 2.13.0 found ($(TORCH_CPU_INDEX)):" \
			"installing PyPI's (with CUDA libraries)." >&2; \
		$(BIN)/python -m pip install -q torch==2.13.0; \
	fi
	$(BIN)/python -c "import torch; print('torch', torch.__version__)"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python -m skcoop demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

# The docs: API reference, user guide and the gallery (examples are run).
docs: install
	$(BIN)/python -m pip install -q -e ".[docs]"
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# Run after `make docs`: headless Chromium (Debian's package, installed here if
# missing) renders the landing page, a user-guide chapter, the API index, a
# class page, the benchmarks page and two gallery examples at 1280 px; fails
# on raw Markdown tables, code that scrolls sideways, index pages taller than
# a set height and broken internal links (docs/check_pages.py).
docs-check: install
	command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y chromium)
	$(BIN)/python docs/check_pages.py docs/_build/html

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info docs/_build docs/auto_examples docs/generated \
		docs/sg_execution_times.rst
