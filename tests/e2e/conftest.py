"""Start the real Rasa server (Python 3.10 env) and action server (Python 3.11 env) on free
loopback ports, with a throwaway case store and tracker store, for end-to-end conversations."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.helpers import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
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
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        actions_log = work / "actions.log"
        logs.append(actions_log)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
                cwd=ROOT, env=env, stdout=actions_log.open("w"), stderr=subprocess.STDOUT,
            )
        )
        rasa_log = work / "rasa.log"
        logs.append(rasa_log)
        procs.append(
            subprocess.Popen(
                [str(RASA), "run", "--model", MODEL_POINTER.read_text().strip(), "--interface", "127.0.0.1",
                 "--port", str(rasa_port), "--endpoints", str(endpoints),
                 "--credentials", str(ROOT / "bot" / "credentials.yml")],
                cwd=ROOT, env=env, stdout=rasa_log.open("w"), stderr=subprocess.STDOUT,
            )
        )
        wait_http(f"http://127.0.0.1:{actions_port}/health", procs[0], actions_log, 120)
        wait_http(f"http://127.0.0.1:{rasa_port}/", procs[1], rasa_log, 300)
        yield Stack(f"http://127.0.0.1:{rasa_port}", database_url)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        artifacts = ROOT / "test-artifacts" / "e2e"
        artifacts.mkdir(parents=True, exist_ok=True)
        for log in logs:
            if log.exists():
                (artifacts / log.name).write_text(log.read_text())
