"""bot/rasa_server.py: the patched response validation accepts and rejects exactly what Rasa's own
does, with the same error message. Runs in the Rasa environment (Python 3.10) as a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

PROBE = r"""
import json, sys
sys.path.insert(0, "bot")
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
import rasa_server

cases = json.loads(sys.argv[1])
action = RemoteAction("action_probe", None)
original = RemoteAction._validate_action_result

def outcome(fn, response):
    try:
        return {"ok": fn(action, response)}
    except ValidationError as e:
        return {"error": e.message}

before = [outcome(original, c) for c in cases]
rasa_server.apply_response_validation_fix()
assert RemoteAction._validate_action_result is not original
after = [outcome(RemoteAction._validate_action_result, c) for c in cases]
print(json.dumps({"before": before, "after": after}, ensure_ascii=False))
"""

CASES = [
    {"events": [{"event": "slot", "name": "platform", "value": "沙盒商城"}], "responses": [{"text": "好的"}]},
    {"events": [{"event": "active_loop", "name": "complaint_form"}], "responses": []},
    {},
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},
    {"responses": ["not an object"]},
]


def test_patched_validation_matches_rasa() -> None:
    if not RASA_PYTHON.exists():
        pytest.fail(".venv-rasa is missing: run `make test` (it runs setup first)")
    out = subprocess.run([str(RASA_PYTHON), "-c", PROBE, json.dumps(CASES, ensure_ascii=False)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={"RASA_TELEMETRY_ENABLED": "false",
                                                                          "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["after"] == result["before"]
    assert [("ok" in r) for r in result["after"]] == [True, True, True, False, False, False, False]
    assert all("Failed to validate Action server response" in r["error"] for r in result["after"][3:])
