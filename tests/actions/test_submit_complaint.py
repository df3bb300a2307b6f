"""Submitting the complaint: one case per complaint, even when the confirmation comes twice (a Rasa
server that died after the case was stored but before it saved the conversation leaves the
conversation at the confirmation; tests/faults/test_process_kills.py does that for real)."""

from __future__ import annotations

import asyncio

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.cases import ActionSubmitComplaint
from tests.actions.conftest import make_tracker

SLOTS = {
    "platform": "沙盒商城", "shop": "沙盒数码旗舰店", "order_id": "2026112012345678", "product": "蓝牙耳机",
    "amount": "199", "order_date": "2026-11-23", "signed_date": "2026-11-26", "problem": "拒绝七天无理由",
    "description": "签收第二天申请退货，商家拒绝", "desired_remedy": "退货退款", "phone": "13812345678",
    "consent": True,
}


def confirm(slots: dict, sender: str = "web-test-consumer") -> tuple[str, list]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots=slots, text="/affirm", intent="affirm", sender_id=sender)
    events = asyncio.run(ActionSubmitComplaint().run(dispatcher, tracker, {}))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), events


def case_numbers() -> list[str]:
    from disputes.db import database_url, session_factory
    from disputes.models import Case

    with session_factory(database_url())() as s:
        return list(s.scalars(select(Case.case_no).order_by(Case.id)))


def test_the_same_complaint_confirmed_twice_is_filed_once() -> None:
    first, events = confirm(SLOTS)
    [case_no] = case_numbers()
    assert f"案件编号：{case_no}" in first and SlotSet("case_id", case_no) in events

    again, events = confirm(SLOTS)
    assert case_numbers() == [case_no]
    assert "已经提交过了" in again and f"案件编号：{case_no}" in again and "当前状态：已提交" in again
    assert SlotSet("case_id", case_no) in events and SlotSet("platform", None) in events  # form reset


def test_another_complaint_of_the_same_consumer_or_the_same_one_of_another_is_filed() -> None:
    confirm(SLOTS)
    confirm({**SLOTS, "order_id": "2026112099999999"})  # another order
    confirm(SLOTS, sender="web-someone-else")  # another consumer
    assert len(case_numbers()) == 3
