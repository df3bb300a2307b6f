# Two commands for a fresh machine: `make run` (whole system) and `make test` (every test).
.PHONY: setup run run-scaled test lint nlu-eval bench

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/honcho -f Procfile start

# Same code, scaled-out configuration (needs PostgreSQL and Redis on 127.0.0.1).
run-scaled: setup
	bash scripts/services.sh
	.venv/bin/python scripts/create_databases.py postgresql://postgres@127.0.0.1:5432/test odr odr_tracker
	.venv/bin/honcho -f Procfile.scaled -e scaled.env start

test: setup
	bash scripts/test.sh

lint:
	.venv/bin/ruff check .

nlu-eval: setup
	bash scripts/nlu_eval.sh

bench: setup
	.venv/bin/python benchmarks/retrieval.py
