# Quick start: `make run` (serve the demo) and `make test` (the whole suite).
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HTMX_VERSION := 2.0.4
AXE_VERSION := 4.14.1
export FLASK_APP := wsgi

.PHONY: run run-prod test install rules bench clean translations flask rehearse

install: $(VENV_STAMP) static/vendor/htmx.min.js tests/vendor/axe.min.js translations

$(VENV_STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	@test -x $(PY) || python3 -m venv .venv || { apt-get update -q && apt-get install -y -q python3-venv && python3 -m venv .venv; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	rm -f .venv/.installed-* && touch $@

# htmx from the npm registry; pages work without it, so a failed download only warns.
static/vendor/htmx.min.js:
	@mkdir -p static/vendor
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q htmx.org@$(HTMX_VERSION) >/dev/null 2>&1) \
	  && tar -xzf $$tmp/htmx.org-$(HTMX_VERSION).tgz -C $$tmp && cp $$tmp/package/dist/htmx.min.js $@ \
	  && echo "htmx $(HTMX_VERSION) installed" || echo "warning: htmx not installed; pages work without it"; rm -rf $$tmp

# axe-core for the accessibility checks of the browser tests only (never served to users);
# without it those tests fail and say so.
tests/vendor/axe.min.js:
	@mkdir -p tests/vendor
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q axe-core@$(AXE_VERSION) >/dev/null 2>&1) \
	  && tar -xzf $$tmp/axe-core-$(AXE_VERSION).tgz -C $$tmp && cp $$tmp/package/axe.min.js $@ \
	  && echo "axe-core $(AXE_VERSION) installed" || echo "warning: axe-core not installed; the accessibility tests will fail"; rm -rf $$tmp

translations: $(VENV_STAMP)
	@.venv/bin/pybabel compile -d app/translations --statistics

run: install
	@bash scripts/run.sh

# The production shape on one machine: PostgreSQL, Redis, gunicorn (gthread), two RQ workers,
# rq cron, a storage directory (README, "Deployment").
run-prod: install
	@bash scripts/run_prod.sh

test: install
	@bash scripts/test.sh

# Stage closes of 100k-400k files and the office list of 10,000 files (gunicorn + wrk), on SQLite
# and PostgreSQL, the tier reports, the largest page weights; figures in bench/results.json.
bench: install
	@bash scripts/bench.sh

# Any flask command on the instance `make run` uses: make flask ARGS="jobs list"; on the one
# `make run-prod` serves (while it runs): make flask INSTANCE=prod ARGS="backup /tmp/zc.tar".
flask: install
	@bash scripts/flask.sh $(ARGS)

# Rehearse a tenant's year in a sandbox: make rehearse TENANT=beijing YEAR=2026 [SIZE=small].
TENANT ?= beijing
YEAR ?= 2026
SIZE ?= small
rehearse: install
	@bash scripts/flask.sh rehearse $(TENANT) $(YEAR) --size $(SIZE)

rules: $(VENV_STAMP)
	@$(PY) scripts/rules_report.py

clean:
	rm -rf .venv static/vendor tests/vendor instance/*.db
