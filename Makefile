# The README's two commands, and the three a developer needs next.
#
#   make demo    set up .venv, ingest examples/, answer one Korean and one English question
#   make test    the same setup, the system packages the tests use, lint, the whole suite
#   make lint    ruff check, ruff format --check, mypy, the generated references are current
#   make docs    the documentation site in site/ (mkdocs, strict: a broken link fails)
#   make ui      the Streamlit app on http://127.0.0.1:8501 (UI_ARGS="--port 8600" to change)
#   make bench   the retrieval-quality benchmark (BENCH=... and BENCH_ARGS=... pick another;
#                each runs as a module, python -m benchmarks.NAME, so the repository's packages
#                import as they do in the tests)
#
# Every step leaves a file or a stamp behind, so a second run only checks them: the venv, torch,
# the editable install (again only when pyproject.toml changed), the offline models, the
# configuration file. Nothing here uses sudo: system packages are installed only when this runs
# as root; otherwise the exact command is printed and make stops.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := demo
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODELS ?= .models
CONFIG := bllossom-rag.toml
# The CPU wheel, from wherever pip finds it; elsewhere add PyTorch's CPU index, e.g.
#   make demo TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
# auto: the offline models when the Hugging Face hub cannot be reached; offline: always.
DEMO_MODELS ?= auto
APT_PACKAGES := chromium fonts-nanum tesseract-ocr tesseract-ocr-kor
UI_ARGS ?=
BENCH ?= retrieval
BENCH_ARGS ?= --split test

OFFLINE_FOLDERS := $(addprefix $(MODELS)/,multilingual-e5-small llama-3.1-tokenizer tiny-llava-next)
KO_QUESTION := 입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?
EN_QUESTION := How long must passwords be?

.PHONY: demo test lint docs ui bench setup demo-models offline-models system-packages

demo: setup demo-models $(CONFIG)
	$(BIN)/bllossom-rag ingest examples/
	$(BIN)/bllossom-rag ask "$(KO_QUESTION)"
	$(BIN)/bllossom-rag ask "$(EN_QUESTION)"

# The venv's bin first on PATH: tests start the real console scripts (bllossom-rag, streamlit).
test: setup offline-models system-packages lint docs
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python tools/reference.py --check

docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

ui: setup demo-models $(CONFIG)
	$(BIN)/bllossom-rag ui $(UI_ARGS)

bench: setup offline-models $(VENV)/.installed-bench
	OFFLINE_MODELS_DIR="$(abspath $(MODELS))" $(BIN)/python -m benchmarks.$(BENCH) $(BENCH_ARGS)

setup: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, so the project's torch range is already met by the build chosen here.
$(VENV)/.torch: | $(BIN)/python
	@if $(BIN)/python -c "import torch" 2>/dev/null; then \
	  echo "torch is already installed: $$($(BIN)/python -c 'import torch; print(torch.__version__)')"; \
	elif command -v nvidia-smi >/dev/null; then \
	  echo "CUDA machine: not installing the CPU wheel. Install the CUDA build that matches your"; \
	  echo "driver, e.g.  $(BIN)/pip install $(TORCH) --index-url https://download.pytorch.org/whl/cu128"; \
	  echo "(otherwise the next step takes PyPI's default build)."; \
	else \
	  echo "$(BIN)/pip install $(TORCH_PIP_ARGS) $(TORCH)"; \
	  $(BIN)/pip install -q $(TORCH_PIP_ARGS) $(TORCH); \
	fi
	@touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev,bench]"
	@touch $@

# The tests always use the offline models (tiny-llava-next has no hub twin); the demo uses them
# only when the hub cannot be reached (or DEMO_MODELS=offline).
offline-models: setup
	@complete=yes; for folder in $(OFFLINE_FOLDERS); do [ -d "$$folder" ] || complete=no; done; \
	if [ $$complete = yes ]; then \
	  echo "offline models: $(MODELS)/ has them"; \
	else \
	  echo "$(BIN)/python tools/offline_models.py $(MODELS)"; \
	  $(BIN)/python tools/offline_models.py $(MODELS) >/dev/null; \
	fi

demo-models: setup
	@if [ "$(DEMO_MODELS)" = offline ] || [ -d $(MODELS)/tiny-llava-next ] || \
	    ! $(BIN)/python -c "import sys; from rag.runtime.models import hub_reachable; sys.exit(not hub_reachable())"; then \
	  $(MAKE) --no-print-directory offline-models; \
	else \
	  echo "the Hugging Face hub is reachable: the demo uses the configured models"; \
	fi

# Written once, never overwritten: edit it freely (delete it to have it written again).
$(CONFIG): | demo-models
	@{ \
	  echo "# Written by make demo. Relative paths resolve against this file's folder."; \
	  echo 'data_dir = ".bllossom-rag"'; \
	  if [ -d $(MODELS)/tiny-llava-next ]; then \
	    echo "# Offline models (tools/offline_models.py): a real multilingual-e5-small and a"; \
	    echo "# random-weight generator with Bllossom-Vision's interface (answers are gibberish)."; \
	    echo '[embedding]'; \
	    echo 'model = "$(MODELS)/multilingual-e5-small"'; \
	    echo '[generation]'; \
	    echo 'model = "$(MODELS)/tiny-llava-next"'; \
	    echo "max_new_tokens = 64"; \
	  fi; \
	} > $@
	@echo "wrote $@"

system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || missing="$$missing fonts-nanum"; \
	command -v tesseract >/dev/null || missing="$$missing tesseract-ocr"; \
	{ command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx kor; } \
	  || missing="$$missing tesseract-ocr-kor"; \
	if [ -z "$$missing" ]; then \
	  echo "system packages: $(APT_PACKAGES) are installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq $$missing; \
	else \
	  echo "The tests need these system packages:$$missing. As root, run:"; \
	  echo "  apt-get update && apt-get install -y$$missing"; \
	  echo "then make test again."; \
	  exit 1; \
	fi
