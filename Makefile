# The two commands: `make run` and `make test`. Everything else is optional.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app chatapp
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test serve lint format bench

$(VENV)/.installed: requirements.txt setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e '.[test]'
	touch $@

## Serve on http://$(HOST):$(PORT) with SQLite in instance/ (after migrating it).
run: $(VENV)/.installed
	$(FLASK) init-db
	$(FLASK) run --host $(HOST) --port $(PORT)

## Production: migrate, then gunicorn with gunicorn.conf.py (see README "Production").
serve: $(VENV)/.installed
	$(FLASK) init-db
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

## Run the whole test suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set).
test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

## Benchmarks under gunicorn against a local Gemini wire server (docs/benchmarks.md), each
## printing its targets with a verdict: chat turns against a minimal app and flat cost
## (BENCH_ARGS), reading big histories and lists (PAGES_ARGS), a worker's memory after many
## long conversations (MEMORY_ARGS), streams (STREAM_ARGS); knowledge retrieval (RETRIEVAL_ARGS),
## indexing (INDEXING_ARGS), retrieval quality, and grounded against plain turns (GROUNDED_ARGS);
## message search over 1M messages (SEARCH_ARGS), a 100 MB import's memory (IMPORT_ARGS), file
## uploads (FILES_ARGS), statements per turn. BENCH_DATABASE_URL: a PostgreSQL database
## the knowledge benchmarks may fill (without it they measure SQLite only).
BENCH_DATABASE_URL ?=
bench: $(VENV)/.installed
	$(PY) -m bench.chat_turns --database-url "$(BENCH_DATABASE_URL)" $(BENCH_ARGS)
	$(PY) -m bench.history_pages --database-url "$(BENCH_DATABASE_URL)" $(PAGES_ARGS)
	$(PY) -m bench.chat_memory $(MEMORY_ARGS)
	$(PY) -m bench.streams $(STREAM_ARGS)
	$(PY) -m bench.retrieval --database-url "$(BENCH_DATABASE_URL)" $(RETRIEVAL_ARGS)
	$(PY) -m bench.indexing --database-url "$(BENCH_DATABASE_URL)" $(INDEXING_ARGS)
	$(PY) -m bench.quality
	$(PY) -m bench.message_search --database-url "$(BENCH_DATABASE_URL)" $(SEARCH_ARGS)
	$(PY) -m bench.grounded_turns --database-url "$(BENCH_DATABASE_URL)" $(GROUNDED_ARGS)
	$(PY) -m bench.import_memory --size-mb 100 --database-url "$(BENCH_DATABASE_URL)" $(IMPORT_ARGS)
	$(PY) -m bench.files --database-url "$(BENCH_DATABASE_URL)" $(FILES_ARGS)
	$(PY) -m bench.turn_statements --database-url "$(BENCH_DATABASE_URL)"
	$(PY) -m bench.branches --database-url "$(BENCH_DATABASE_URL)" $(BRANCHES_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
