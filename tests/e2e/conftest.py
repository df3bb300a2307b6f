"""Start the real Rasa server (Python 3.10 env) and action server (Python 3.11 env) on free
loopback ports, with a throwaway case store and tracker store, for end-to-end conversations."""

from __future__ import annotations

import os
import sys
import uuid

import pytest
import requests

from tests.helpers import ROOT, Process, free_port, keep_logs, release_after_last_use, start_all, stop_all

MODEL_POINTER = ROOT / ".cache" / "rasa" / "current-model"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"


class Stack:
    def __init__(self, rasa_url: str, database_url: str) -> None:
        self.rasa_url = rasa_url
        self.database_url = database_url

    def say(self, sender: str, text: str) -> list[dict]:
        resp = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
        )
        resp.raise_for_status()
        return resp.json()

    @staticmethod
    def new_sender() -> str:
        return f"web-{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not MODEL_POINTER.exists() or not RASA.exists():
        pytest.fail("the trained Rasa model or .venv-rasa is missing: run `make test` (it runs setup first)")
    work = tmp_path_factory.mktemp("e2e")
    actions_port, rasa_port = free_port(), free_port()
    database_url = f"sqlite:///{work / 'cases.sqlite3'}"
    env = {
        **os.environ,
        "ODR_DATABASE_URL": database_url,
        "ODR_CLOCK_AT": "2026-11-28T10:00:00+08:00",
        "SANIC_HOST": "127.0.0.1",
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    endpoints = work / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{work / "tracker.sqlite3"}"\n'
    )
    actions = Process("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port",
                                  str(actions_port)], env, work,
                      ready_url=f"http://127.0.0.1:{actions_port}/health", ready_timeout=120)
    rasa = Process("rasa", [str(RASA), "run", "--model", MODEL_POINTER.read_text().strip(), "--interface",
                            "127.0.0.1", "--port", str(rasa_port), "--endpoints", str(endpoints),
                            "--credentials", str(ROOT / "bot" / "credentials.yml")], env, work,
                   ready_url=f"http://127.0.0.1:{rasa_port}/", ready_timeout=300)
    def close() -> None:
        stop_all([actions, rasa])
        keep_logs(work, "e2e")

    release_after_last_use("stack", close)
    try:
        start_all([actions, rasa])
        yield Stack(f"http://127.0.0.1:{rasa_port}", database_url)
    finally:
        close()
