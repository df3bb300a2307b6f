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
# Clean means no warning at all, except the form prompts (utter_ask_*) and responses that actions
# send by name, which Rasa's validator cannot see being used.
out=$(.venv-rasa/bin/rasa data validate --config config.yml --domain bot/domain.yml --data bot/data 2>&1) || {
  echo "$out"; exit 1; }
problems=$(echo "$out" | grep -E "UserWarning|ERROR" | grep -vE "The utterance 'utter_(ask_[a-z_]+|handoff|default|not_submitted)' is not used" || true)
if [ -n "$problems" ]; then echo "$problems"; echo "rasa data validate reported problems"; exit 1; fi
echo "rasa data validate: clean"

echo "== rasa test stories"
.venv-rasa/bin/rasa test core --model "$(cat .cache/rasa/current-model)" --stories bot/tests/stories \
  --fail-on-prediction-errors --out test-artifacts/rasa-core

echo "== browser (headless Chromium for the browser tests)"
bash scripts/setup_browser.sh

echo "== pytest"
.venv/bin/python -m pytest "$@"
