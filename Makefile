# nblabel: the two commands of the README, and a few for development.
#   make demo   set everything up, prepare the demo data and model, start JupyterLab on the demo
#   make test   set everything up (with Chromium), lint, and run the whole test suite
#   make docs   the documentation site into site/
SHELL := /bin/bash
VENV := .venv/bin
PORT ?= 8888
export FIFTYONE_DO_NOT_TRACK := true
export FIFTYONE_DATABASE_VALIDATION := false
export YOLO_OFFLINE := 1
export YOLO_VERBOSE := False
export YOLO_CONFIG_DIR := $(CURDIR)/.cache/ultralytics
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export NBLABEL_DEMO_DIR ?= $(CURDIR)/demo-data
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: demo test docs setup setup-browser lint widget bench clean

setup:
	@scripts/setup.sh

setup-browser:
	@scripts/setup.sh --browser

# Only what a person needs: the set-up steps, then the URL (JupyterLab's log from warnings up;
# Voila's server extension, installed for a test, is off: it turns deprecation notices on).
demo: setup
	@$(VENV)/python -m nblabel.demo prepare
	@echo "Starting JupyterLab on notebooks/quickstart.ipynb (Ctrl+C stops it); open the URL below."
	@$(VENV)/jupyter lab notebooks/quickstart.ipynb --no-browser --ip=127.0.0.1 --port=$(PORT) \
		$(ROOT_FLAG) --ServerApp.root_dir=$(CURDIR) --ServerApp.log_level=WARN \
		--LabApp.log_level=WARN --ServerApp.jpserver_extensions="{'voila.server_extension': False}"

lint: setup
	$(VENV)/ruff check src tests bench
	$(VENV)/mypy
	npx --no-install tsc -p js/tsconfig.json

test: setup-browser lint
	npx --no-install vitest run --root js
	$(VENV)/python -m pytest $(PYTEST_ARGS)

widget:
	npm run build

# The documentation site into site/ (strict: any warning fails; the tests build it too).
docs: setup
	@NO_MKDOCS_2_WARNING=1 $(VENV)/mkdocs build --strict --quiet -d site
	@echo "site/index.html"

clean:
	rm -rf .venv node_modules src/nblabel/static .cache demo-data test-artifacts site dist
