# Two commands for a fresh machine: `make run` (whole system) and `make test` (every test).
.PHONY: setup run run-scaled test lint nlu-eval bench

setup:
	bash scripts/setup.sh

# The embedded demo: ODR_DEMO=1 allows the public demo secrets (WeChat token, sandbox platform).
run: setup
	@echo "演示模式 ODR_DEMO=1：使用公开的演示密钥（微信令牌 odr-demo-token、沙盒平台签名密钥），仅供本机演示，切勿对外开放。"
	@echo "Demo mode ODR_DEMO=1: public demo secrets in use (WeChat token odr-demo-token, sandbox platform secret); local demo only, never expose it."
	ODR_DEMO=1 .venv/bin/honcho -f Procfile start

# Same code, scaled-out configuration (needs PostgreSQL and Redis on 127.0.0.1). Not a demo: the
# secrets come from the environment (see scaled.env); ODR_REDIS_PASSWORD may be empty without AUTH.
run-scaled: setup
	bash scripts/services.sh
	.venv/bin/python scripts/create_databases.py postgresql://postgres@127.0.0.1:5432/test odr odr_tracker
	ODR_REDIS_PASSWORD="$${ODR_REDIS_PASSWORD-}" .venv/bin/honcho -f Procfile.scaled -e scaled.env start

test: setup
	bash scripts/test.sh

lint:
	.venv/bin/ruff check .

nlu-eval: setup
	bash scripts/nlu_eval.sh

bench: setup
	.venv/bin/python benchmarks/retrieval.py
