"""Complaint-form validation: normalised values, hints on bad input, corrections, giving up."""

from __future__ import annotations

import asyncio

from rasa_sdk.events import SlotSet

from actions.complaint_form import ValidateComplaintForm
from tests.actions.conftest import make_tracker


def run_form(dispatcher, domain, slots, text):
    """Validate `text` as the answer to the requested slot (already in `slots` as extracted)."""
    requested = slots["requested_slot"]
    tracker = make_tracker(
        slots=slots, text=text, active_loop="complaint_form", candidates={requested: slots.get(requested)}
    )
    return asyncio.run(ValidateComplaintForm().run(dispatcher, tracker, domain))


def test_platform_nickname_is_normalised(dispatcher, domain):
    events = run_form(dispatcher, domain, {"requested_slot": "platform", "platform": "狗东"}, "狗东")
    assert events == [SlotSet("platform", "京东"), SlotSet("slot_failures", {})]
    assert dispatcher.messages == []


def test_unknown_platform_is_rejected_with_a_hint(dispatcher, domain):
    events = run_form(dispatcher, domain, {"requested_slot": "platform", "platform": "火星商城"}, "火星商城")
    assert events == [SlotSet("platform", None), SlotSet("slot_failures", {"platform": 1})]
    assert "暂不支持" in dispatcher.messages[0]["text"]


def test_amount_and_dates_are_normalised(dispatcher, domain):
    events = run_form(dispatcher, domain, {"requested_slot": "amount", "amount": "三百五"}, "三百五")
    assert events == [SlotSet("amount", "350"), SlotSet("slot_failures", {})]
    events = run_form(
        dispatcher, domain, {"requested_slot": "signed_date", "signed_date": "前天签收的"}, "前天签收的"
    )
    assert events == [SlotSet("signed_date", "2026-11-26"), SlotSet("slot_failures", {})]


def test_impossible_date_gets_a_clear_message(dispatcher, domain):
    events = run_form(dispatcher, domain, {"requested_slot": "order_date", "order_date": "2月30日"}, "2月30日")
    assert events == [SlotSet("order_date", None), SlotSet("slot_failures", {"order_date": 1})]
    assert "不存在" in dispatcher.messages[0]["text"]


def test_correction_of_an_earlier_answer(dispatcher, domain):
    slots = {"requested_slot": "problem", "problem": "不对，是3月2号签收的", "signed_date": "2026-03-03"}
    events = run_form(dispatcher, domain, slots, "不对，是3月2号签收的")
    assert events == [SlotSet("problem", None), SlotSet("signed_date", "2026-03-02")]
    assert "已更正签收日期" in dispatcher.messages[0]["text"]


def test_optional_slot_is_skipped_after_three_failures(dispatcher, domain):
    slots = {"requested_slot": "shop", "shop": "x" * 150, "slot_failures": {"shop": 2}}
    events = run_form(dispatcher, domain, slots, "x" * 150)
    assert events == [SlotSet("shop", "不清楚"), SlotSet("slot_failures", {"shop": 3})]


def test_required_slot_offers_help_after_three_failures(dispatcher, domain):
    slots = {"requested_slot": "phone", "phone": "12345", "slot_failures": {"phone": 2}}
    events = run_form(dispatcher, domain, slots, "12345")
    assert events == [SlotSet("phone", None), SlotSet("slot_failures", {"phone": 3})]
    assert "转人工" in dispatcher.messages[0]["text"]


def test_consent_typed_in_words(dispatcher, domain):
    events = run_form(dispatcher, domain, {"requested_slot": "consent", "consent": "同意"}, "同意")
    assert events == [SlotSet("consent", True), SlotSet("slot_failures", {})]
    events = run_form(dispatcher, domain, {"requested_slot": "consent", "consent": "不同意"}, "不同意")
    assert events == [SlotSet("consent", False), SlotSet("slot_failures", {})]
