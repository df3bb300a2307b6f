"""Tracker-based action tests (as in Rasa's reference assistants): build a tracker, run the
action, compare the exact events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DOMAIN_FILE = Path(__file__).resolve().parents[2] / "bot" / "domain.yml"


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(autouse=True)
def isolated_case_store(tmp_path, monkeypatch):
    """Each test gets its own case database and a frozen clock (2026-11-28 10:00 Beijing)."""
    import actions.runtime as runtime

    monkeypatch.setenv("ODR_DATABASE_URL", f"sqlite:///{tmp_path / 'cases.sqlite3'}")
    monkeypatch.setenv("ODR_DISPATCH", "off")
    monkeypatch.setenv("ODR_CLOCK_AT", "2026-11-28T10:00:00+08:00")
    monkeypatch.setattr(runtime, "_clock", None)
    yield


def make_tracker(
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "inform",
    entities: list[dict] | None = None,
    sender_id: str = "web-test-consumer",
    active_loop: str | None = None,
    candidates: dict[str, Any] | None = None,
) -> Tracker:
    """`candidates` are the slot values just extracted from this message (what Rasa appends as
    SlotSet events before it calls the form's validation action)."""
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
    }
    return Tracker(
        sender_id=sender_id,
        slots=dict(slots or {}),
        latest_message=message,
        events=[
            {"event": "user", "text": text, "parse_data": message},
            *({"event": "slot", "name": k, "value": v} for k, v in (candidates or {}).items()),
        ],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
