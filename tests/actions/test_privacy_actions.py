"""Withdraw and delete from the chat: asked first (a button), then every case of this sender only
is erased and the conversation's erasure is left to the worker."""

from __future__ import annotations

import asyncio

from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.privacy import CONFIRM_PAYLOAD, ActionDeleteMyData, ActionDeleteMyDataConfirmed
from tests.actions.conftest import make_tracker
from tests.actions.test_submit_complaint import FACTS, confirm, confirmed


def test_asking_to_delete_stops_the_intake_and_asks_for_the_button() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="撤回投诉并删除我的数据", intent="delete_my_data", active_loop="complaint_form")
    events = asyncio.run(ActionDeleteMyData().run(dispatcher, tracker, {}))
    assert events == [ActiveLoop(None)]
    (message,) = dispatcher.messages
    assert "不能恢复" in message["text"] and "统计记录" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [CONFIRM_PAYLOAD, "/deny"]


def test_confirmed_deletion_erases_only_this_senders_cases() -> None:
    from actions.runtime import db_session
    from disputes.models import Case

    confirm(confirmed(FACTS))
    confirm(confirmed(dict(FACTS, order_id="2026112099999999")), sender="web-someone-else")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="确认删除", intent="confirm_delete_my_data")
    events = asyncio.run(ActionDeleteMyDataConfirmed().run(dispatcher, tracker, {}))
    assert events == [SlotSet("intake", None), SlotSet("case_id", None)]
    assert "已撤回并删除 1 个案件" in dispatcher.messages[0]["text"]
    with db_session() as db:
        cases = {c.case_no: c for c in db.query(Case).all()}
        erased = [c for c in cases.values() if c.erased_at is not None]
        kept = [c for c in cases.values() if c.erased_at is None]
        assert len(erased) == 1 and len(kept) == 1
        assert kept[0].facts.get("order_id") == "2026112099999999"
        assert set(erased[0].facts) <= {"problem"}  # only the issue type the statistics count


def test_confirmed_deletion_without_cases_says_so() -> None:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionDeleteMyDataConfirmed().run(dispatcher, make_tracker(intent="confirm_delete_my_data"), {}))
    assert "您没有提交过案件" in dispatcher.messages[0]["text"]
