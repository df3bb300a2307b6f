#!/usr/bin/env bash
# Start the Rasa server (Python 3.10 environment) with the current trained model.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false
endpoints=bot/endpoints.yml
[ "${ODR_PROFILE:-embedded}" = scaled ] && endpoints=bot/endpoints.scaled.yml
exec .venv-rasa/bin/python bot/rasa_server.py run --model "$(cat .cache/rasa/current-model)" \
  --interface "${ODR_RASA_HOST:-127.0.0.1}" --port "${ODR_RASA_PORT:-5005}" \
  --endpoints "$endpoints" --credentials bot/credentials.yml "$@"
