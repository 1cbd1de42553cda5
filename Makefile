# The commands the README and CI call. `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := iom_portal.settings

.PHONY: run test lint format migrations-check deploy-check messages bench ci clean install backup restore

# Runtime packages for `make run`; the development tools (pytest, ruff, Playwright...) on top for the rest.
$(VENV)/.runtime: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed: $(VENV)/.runtime requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py load_reference_data
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-1} PORT=$(PORT) bash scripts/run.sh

# Two pytest-xdist workers by default (browser tests stay together in one, --dist loadgroup);
# `make test PYTEST_PARALLEL=` runs in one process, `PYTEST_PARALLEL="-n auto --dist loadgroup"` uses every core.
# PYTHONDONTWRITEBYTECODE is emptied for pytest only: with it set, pytest rewrites the asserts of every test module
# and plugin (schemathesis: 440 modules) again in each worker of each run instead of reading its cached copy.
PYTEST_PARALLEL ?= -n 2 --dist loadgroup
test: install
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -p no:cacheprovider $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: install
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

deploy-check: install
	DEBUG=0 SECRET_KEY=deploy-check-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	ALLOWED_HOSTS=portal.iom-niger.example DATABASE_URL=sqlite:////tmp/deploy-check.sqlite3 \
	$(PY) manage.py check --deploy --fail-level WARNING

messages: install
	DEBUG=1 $(PY) manage.py makemessages -l fr -l en --no-obsolete --ignore=.venv --ignore=static
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

# Web pages, then the REST API (same seeded database), then the report builders (own database).
# A budget miss is reported (and makes that stage fail) without skipping the next stages.
bench: install
	-bash bench/run.sh
	-$(PY) bench/api.py --database-url postgres://postgres@127.0.0.1:5432/$${BENCH_DB:-iom_bench}
	createdb -h 127.0.0.1 -U postgres iom_bench_reports 2>/dev/null || true
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/iom_bench_reports $(PY) bench/reports.py

# Backups (PostgreSQL only): `make backup` writes backups/iom-portal-backup-<time>.tar (BACKUP_DIR overrides);
# `make restore FILE=backups/....tar` restores it into the (empty) database of DATABASE_URL and MEDIA_ROOT.
backup: $(VENV)/.runtime
	$(PY) manage.py backup --output $${BACKUP_DIR:-backups/}

restore: $(VENV)/.runtime
	@test -n "$(FILE)" || { echo "usage: make restore FILE=path/to/backup.tar"; exit 2; }
	$(PY) manage.py restore "$(FILE)"

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
