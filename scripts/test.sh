#!/usr/bin/env bash
# Every test: lint, Rasa data validation, Rasa test stories, then pytest (unit, integration,
# end-to-end with real Rasa + action servers). Assumes scripts/setup.sh has run (make test does).
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p test-artifacts

echo "== ruff"
.venv/bin/ruff check .

echo "== rasa data validate"
.venv-rasa/bin/rasa data validate --config config.yml --domain bot/domain.yml --data bot/data --fail-on-warnings

echo "== rasa test stories"
.venv-rasa/bin/rasa test core --model "$(cat .cache/rasa/current-model)" --stories bot/tests/stories \
  --fail-on-prediction-errors --out test-artifacts/rasa-core

echo "== pytest"
.venv/bin/python -m pytest "$@"
