# Two commands for a fresh machine: `make run` (whole system) and `make test` (every test).
.PHONY: setup run test lint nlu-eval bench

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/honcho -f Procfile start

test: setup
	bash scripts/test.sh

lint:
	.venv/bin/ruff check .

nlu-eval: setup
	bash scripts/nlu_eval.sh

bench: setup
	.venv/bin/python benchmarks/retrieval.py
