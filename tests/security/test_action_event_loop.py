"""One slow conversation must not stall the others: the action server runs every action on one
event loop (rasa_sdk's ActionExecutor, as its webhook does), so the actions' blocking work
(database, retrieval model, story parsing) runs in worker threads (actions.runtime.run_blocking).

Each test starts a slow action whose blocking call waits at a gate, then runs another
conversation's action on the same loop: it must finish while the slow one is still waiting.
Before the fix the slow action held the loop until the gate gave up."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import ActionExecutor

from tests.helpers import SEVEN_DAY_DECISION, make_facts

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text(encoding="utf-8"))
GATE_SECONDS = 5.0
SLOW, FAST = "web-slow-conversation", "web-fast-conversation"


class Gate:
    """Wraps a blocking function: its first call waits until `open()` (or GATE_SECONDS), later
    calls go straight through."""

    def __init__(self, original) -> None:
        self.original = original
        self.entered = threading.Event()
        self.released = threading.Event()
        self.used = False
        self.lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            first, self.used = not self.used, True
        if first:
            self.entered.set()
            self.released.wait(GATE_SECONDS)  # blocking, like a slow query or model call
        return self.original(*args, **kwargs)

    def open(self) -> None:
        self.released.set()


@pytest.fixture
def case_store(actions_case_store):
    from disputes import service
    from disputes.clock import FrozenClock

    with actions_case_store() as db:
        return service.submit_complaint(db, channel="web", sender_id=FAST, facts=make_facts(),
                                        decision=SEVEN_DAY_DECISION,
                                        clock=FrozenClock("2026-11-28T09:00:00+08:00")).case_no


@pytest.fixture(scope="module")
def executor() -> ActionExecutor:
    executor = ActionExecutor()
    executor.register_package("actions")
    return executor


def action_call(name: str, sender: str, text: str, intent: str, slots: dict | None = None) -> dict[str, Any]:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    return {
        "next_action": name,
        "sender_id": sender,
        "tracker": {"sender_id": sender, "slots": dict(slots or {}), "latest_message": message,
                    "events": [{"event": "user", "text": text, "parse_data": message}], "paused": False,
                    "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"},
        "domain": DOMAIN,
        "version": "3.6.0",
    }


def texts(result: Any) -> str:
    return "\n".join(m.get("text") or "" for m in result.responses)


# slow action → the blocking call it makes (module, attribute) and the message it handles
SLOW_ACTIONS = {
    "action_handoff": ("disputes.service", "record_handoff", "转人工", "request_human"),
    "action_check_status": ("disputes.service", "latest_case", "查询进度", "check_status"),
    "action_respond_offer": ("disputes.service", "latest_case", "接受", "accept_offer"),
    "action_submit_complaint": ("disputes.service", "latest_case", "确认无误，同意提交", "affirm"),
    "action_answer_legal_question": ("knowledge.answer", "compose_answer", "七天无理由退货怎么算",
                                     "ask_seven_day_return"),
    "action_fallback": ("knowledge.answer", "compose_answer", "网上买东西被坑了怎么维权", "nlu_fallback"),
}


@pytest.mark.parametrize("slow_action", list(SLOW_ACTIONS))
def test_a_slow_action_does_not_stall_another_conversation(executor, case_store, monkeypatch, slow_action):
    import importlib

    from tests.actions.test_submit_complaint import FACTS, confirmed

    where, attr, text, intent = SLOW_ACTIONS[slow_action]
    owner = importlib.import_module(where)
    gate = Gate(getattr(owner, attr))
    monkeypatch.setattr(owner, attr, gate)
    if where == "knowledge.answer":  # straight to the retrieval (the story reader is the intake's)
        monkeypatch.setattr("actions.intake.story_events", lambda dispatcher, tracker: None)
    slots = {"intake": confirmed(FACTS)} if slow_action == "action_submit_complaint" else {}

    async def scenario() -> tuple[float, bool, Any, Any]:
        start = time.monotonic()
        slow = asyncio.create_task(executor.run(action_call(slow_action, SLOW, text, intent, slots)))
        while not gate.entered.is_set() and time.monotonic() - start < GATE_SECONDS + 1:
            await asyncio.sleep(0.01)
        fast = await executor.run(action_call("action_check_status", FAST, "查询进度", "check_status"))
        fast_seconds = time.monotonic() - start
        slow_still_waiting = not slow.done()
        gate.open()
        return fast_seconds, slow_still_waiting, fast, await slow

    fast_seconds, slow_still_waiting, fast, slow = asyncio.run(scenario())
    assert slow_still_waiting and fast_seconds < GATE_SECONDS / 2, (slow_action, fast_seconds)
    assert "当前状态：已提交" in texts(fast)  # the other conversation got its real answer
    assert texts(slow).strip()  # and the slow one its own, once its work was done


def test_run_blocking_runs_in_a_worker_thread_and_async_bodies_too() -> None:
    from actions.runtime import off_event_loop, run_blocking

    @off_event_loop
    async def async_body(x: int) -> tuple[str, int]:
        return threading.current_thread().name, x + 1

    @off_event_loop
    def sync_body(x: int) -> tuple[str, int]:
        return threading.current_thread().name, x * 2

    async def main():
        return (await run_blocking(lambda: threading.current_thread().name), await async_body(1),
                await sync_body(2))

    plain, (name_a, a), (name_s, s) = asyncio.run(main())
    assert all(n.startswith("action-worker") for n in (plain, name_a, name_s))
    assert (a, s) == (2, 4)
