#!/usr/bin/env bash
# Start the action server (Python 3.11 environment). SANIC_HOST keeps it on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export SANIC_HOST="${ODR_ACTIONS_HOST:-127.0.0.1}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m rasa_sdk --actions actions --port "${ODR_ACTIONS_PORT:-5055}" "$@"
