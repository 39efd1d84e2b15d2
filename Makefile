# Two commands: `make lab` (work through the notebooks) and `make test` (everything CI checks).
# Both create .venv when it is missing: `make lab` installs requirements.txt (what the notebooks
# need), `make test` adds requirements-dev.txt (the test and lint tools).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

# JupyterLab refuses to run as root without --allow-root (containers and CI run as root).
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)

.PHONY: lab test lint notebooks venv clean

venv: $(STAMP)

# rfc3987-syntax comes with jupyter-events (jsonschema[format-nongpl]). jsonschema imports it as it
# loads, and it builds a grammar for about 2 s of CPU, in every process that reads a notebook
# (JupyterLab, nbconvert, nbval, every test worker): python-jsonschema/jsonschema#1428. Without it
# jsonschema only skips its check of the "iri" string format, which nothing here uses.
DROP_SLOW_IMPORT := $(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(DROP_SLOW_IMPORT)
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(DROP_SLOW_IMPORT)
	touch $(DEV_STAMP)

# lab-settings/overrides.json turns off JupyterLab's news pop-up and update check (the settings
# JupyterLab 4.6 honours; --LabApp.news_url alone still asks "Would you like to get notified...").
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 \
		--LabApp.app_settings_dir=$(CURDIR)/lab-settings --LabApp.news_url=None $(ROOT_FLAG)

lint: $(DEV_STAMP)
	$(BIN)/ruff check helpers tutorial tests benchmarks tools notebooks conftest.py
	$(BIN)/mypy

# The notebooks always run against the fake provider in tests, whatever .env says. Two workers
# (pytest-xdist, --dist loadfile): each test file runs whole on one of them, so a notebook's cells
# still run in order in one kernel, as nbval needs.
# tests/test_browser.py drives JupyterLab in Debian's Chromium; without it the test is skipped
# (-rs prints the reason in the summary).
test: lint
	@test -x /usr/bin/chromium || echo "NOTE: /usr/bin/chromium is missing: the browser test will be SKIPPED (install it: apt-get install -y chromium)"
	TUTORIAL_PROVIDER=mock $(BIN)/python -m pytest -rs -n 2 --dist loadfile

# For maintainers: re-execute every notebook against the fake provider and save its outputs
# (nbval then compares against them). Outputs are deterministic: a re-run changes nothing but
# what notebooks/sanitize.cfg already masks. Streams are merged after execution, so the way the
# kernel happened to split a print does not show up as a change.
notebooks: $(STAMP)
	cd notebooks && TUTORIAL_PROVIDER=mock ../$(BIN)/jupyter nbconvert --to notebook --execute \
		--inplace --log-level=ERROR --ExecutePreprocessor.record_timing=False \
		--NotebookExporter.preprocessors=nbconvert.preprocessors.CoalesceStreamsPreprocessor \
		--CoalesceStreamsPreprocessor.enabled=True [0-9]*.ipynb

clean:
	rm -rf $(VENV)

# For maintainers, before a release or after changing a helper that guards a key: mutation testing
# (mutmut), each module against its own test file, with a table of killed and surviving mutants.
# Slow (minutes per module); not part of `make test`. One module: `make mutation MODULES=key_formats`.
.PHONY: mutation
mutation: $(DEV_STAMP)
	$(BIN)/python -m tools.mutation $(MODULES) --max-children $(or $(MUTATION_CHILDREN),2)
