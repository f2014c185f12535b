# Every target builds or refreshes the local virtual environment from pyproject.toml
# first, so a fresh clone needs only Python 3.11+ (and Node.js for the interop tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-http demo clean interop-deps browser-deps wrk-deps pg-client-deps screenshots fuzz messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# npm ci installs exactly the lock file's tree (integrity-checked): Digital Bazaar's stack,
# jose, axe-core and the test wallet's OpenWallet Foundation and Sphereon clients. Packages
# already in npm's cache are taken from it (--prefer-offline).
interop/node_modules/.installed: interop/package.json interop/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd interop && npm ci --prefer-offline --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "!!! npm not found: interop tests against Digital Bazaar's implementation will be SKIPPED"; fi

interop-deps: interop/node_modules/.installed

# Browser tests drive Debian's Chromium through Playwright (no browser download).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core; \
		else echo "!!! chromium not found and apt-get unavailable: browser tests will be SKIPPED"; fi; \
	fi

run: $(STAMP)
	$(BIN)/badgeworks serve --demo

# The suite runs on PYTEST_WORKERS processes, each test file whole on one of them (module
# fixtures such as the browser are shared within a file); PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2
test: $(STAMP) interop-deps browser-deps wrk-deps pg-client-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Browser tests always take their screenshots; this target writes them into docs/.
BROWSER_TESTS := tests/web/test_portfolio_browser.py tests/web/test_me_browser.py \
	tests/web/console/test_browser.py tests/web/verifier/test_browser.py tests/web/test_review_page_browser.py \
	tests/web/console/test_tables_in_the_browser.py tests/web/console/test_issue_preview_in_the_browser.py \
	tests/web/test_four_people_walk.py
screenshots: $(STAMP) interop-deps browser-deps
	BADGEWORKS_SCREENSHOTS=1 $(BIN)/python -m pytest -q $(BROWSER_TESTS)

# Schemathesis over /openapi.json, failing on any 5xx. make test runs it with 20 cases per
# operation; FUZZ_EXAMPLES=200 make fuzz runs a longer one.
FUZZ_EXAMPLES ?= 50
fuzz: $(STAMP)
	BADGEWORKS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/web/test_openapi_fuzz.py

# Page catalogs (docs/translations.md): rewrites web/locales/messages.pot from the English
# catalogs and brings every other language's .po files in step with English.
messages: $(STAMP)
	$(BIN)/python -m badgeworks.web.catalogs

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_proofs.py

# The served service under load (docs/performance.md, "HTTP benchmark"): seeds SQLite and a
# throwaway PostgreSQL database and drives them with wrk from Debian's packages.
# BENCH_HTTP_ARGS="--credentials 2000 --duration 2" for a quick run.
BENCH_HTTP_ARGS ?=
bench-http: $(STAMP) wrk-deps
	$(BIN)/python bench/bench_http.py $(BENCH_HTTP_ARGS)

# pg_dump and pg_restore (Debian's postgresql-client) back up and restore a PostgreSQL
# database (badgeworks backup / restore); the backup tests use them.
pg-client-deps:
	@if ! command -v pg_dump >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql-client; \
		else echo "!!! pg_dump not found and apt-get unavailable: PostgreSQL backup tests will FAIL"; fi; \
	fi

# wrk (Debian's package) drives bench-http; make test checks the benchmark's request script
# against a small local server with it.
wrk-deps:
	@if ! command -v wrk >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk; \
		else echo "!!! wrk not found and apt-get unavailable: the load-generator test will be SKIPPED"; fi; \
	fi

clean:
	rm -rf $(VENV) interop/node_modules .pytest_cache .mypy_cache .ruff_cache
