"""Submitting the complaint: one case per complaint, even when the confirmation comes twice (a Rasa
server that died after the case was stored but before it saved the conversation leaves the
conversation at the confirmation; tests/faults/test_process_kills.py does that for real)."""

from __future__ import annotations

import asyncio

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.cases import ActionSubmitComplaint
from knowledge.intake.state import Intake
from tests.actions.conftest import make_tracker

FACTS = {
    "platform": "沙盒商城", "channel": "marketplace", "shop": "沙盒数码旗舰店", "order_id": "2026112012345678",
    "product": "蓝牙耳机", "price_yuan": 199.0, "order_date": "2026-11-23", "signed_date": "2026-11-26",
    "return_request_date": "2026-11-27", "condition": "intact", "phone": "13812345678",
}
STORY = ["签收第二天申请七天无理由退货，耳机没拆封，商家拒绝"]


def confirmed(facts: dict, status: str = "confirmed") -> dict:
    return Intake(facts=dict(facts), story=list(STORY), answered=["story", "order_id", "phone", "confirm"],
                  status=status).to_slot()


def confirm(intake: dict, sender: str = "web-test-consumer") -> tuple[str, list]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"intake": intake}, text="确认无误，同意提交", intent="affirm", sender_id=sender)
    events = asyncio.run(ActionSubmitComplaint().run(dispatcher, tracker, {}))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), events


def case_numbers() -> list[str]:
    from actions.runtime import db_session
    from disputes.db import database_url, session_factory
    from disputes.models import Case

    with db_session():  # migrates the throwaway database
        pass
    with session_factory(database_url())() as s:
        return list(s.scalars(select(Case.case_no).order_by(Case.id)))


def test_the_same_complaint_confirmed_twice_is_filed_once() -> None:
    first, events = confirm(confirmed(FACTS))
    [case_no] = case_numbers()
    assert f"案件编号：{case_no}" in first and SlotSet("case_id", case_no) in events

    again, events = confirm(confirmed(FACTS))
    assert case_numbers() == [case_no]
    assert "已经提交过了" in again and f"案件编号：{case_no}" in again and "当前状态：已提交" in again
    assert SlotSet("case_id", case_no) in events and SlotSet("intake", None) in events  # intake reset


def test_another_complaint_of_the_same_consumer_or_the_same_one_of_another_is_filed() -> None:
    confirm(confirmed(FACTS))
    confirm(confirmed({**FACTS, "order_id": "2026112099999999"}))  # another order
    confirm(confirmed(FACTS), sender="web-someone-else")  # another consumer
    assert len(case_numbers()) == 3


def test_the_stored_case_holds_the_facts_their_words_and_the_decision() -> None:
    from disputes.db import database_url, session_factory
    from disputes.models import Case

    confirm(confirmed(FACTS))
    with session_factory(database_url())() as s:
        case = s.scalars(select(Case)).one()
        assert case.facts["signed_date"] == "2026-11-26" and case.facts["condition"] == "intact"
        assert case.facts["description"] == STORY[0] and case.facts["problem"] == "拒绝七天无理由"
        assert "phone" not in case.facts  # personal data lives on the consumer row only
        assert case.decision["seven_day_return_eligible"] is True
        assert case.decision["seven_day_deadline"] == "2026-12-03"


def test_a_declined_intake_files_nothing() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"intake": confirmed(FACTS, status="declined")}, text="先不提交")
    events = asyncio.run(ActionSubmitComplaint().run(dispatcher, tracker, {}))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_not_submitted"]
    assert case_numbers() == [] and SlotSet("intake", None) in events
