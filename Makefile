# The two commands: `make run` (the service on the embedded default) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test lint check screenshots bench bench-report clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Run the service on the embedded default: SQLite, tasks in-process, mail on the console,
## the local Stripe stand-in. Open http://127.0.0.1:8000/ (links in mails point at HOST:PORT
## unless PUBLIC_BASE_URL is set).
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py run_local --addrport $(HOST):$(PORT)

## Run the whole test suite on PostgreSQL, Redis, real Celery workers, SMTP, localstripe and
## Chromium (starts throwaway PostgreSQL/Redis when none run).
test: $(VENV)/.installed-test
	PY=$(PY) bash scripts/test.sh $(ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## The static checks CI runs before the tests: formatting and lint, no model change without its
## migration, and Django's deploy check with production-like settings (warnings fail).
check: lint
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=check-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz-check \
	  ALLOWED_HOSTS=campaign.example.org PUBLIC_BASE_URL=https://campaign.example.org \
	  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
	  STRIPE_SECRET_KEY=sk_live_x STRIPE_PUBLISHABLE_KEY=pk_live_x STRIPE_WEBHOOK_SECRET=whsec_x \
	  $(PY) manage.py check --deploy --fail-level WARNING

## Regenerate docs/screenshots/: every public page and the widget, at phone and desktop size,
## and the staff pages (enrolment, report, review queue).
screenshots: $(VENV)/.installed-test
	PY=$(PY) bash scripts/test.sh tests/integration/test_public_pages.py tests/integration/test_widget_screenshots.py \
	  tests/integration/test_widget_landing.py tests/integration/test_staff_report.py \
	  tests/integration/test_staff_review.py tests/integration/test_staff_login.py \
	  "tests/integration/test_widget_donate.py::test_it_takes_a_monthly_sepa_gift_with_an_iban_checked_in_the_page" -q
	cp test-output/screenshots/*.png docs/screenshots/

## Benchmarks (minutes, need a quiet machine; never part of `make test`).
bench: $(VENV)/.installed-test
	PY=$(PY) bash bench/run.sh $(ARGS)

# The campaign report over 1M signatures: query time against the target of < 1 s.
bench-report: $(VENV)/.installed-test
	$(PY) -m bench.report

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-output
