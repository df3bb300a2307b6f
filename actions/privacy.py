"""Withdraw and delete from the chat (个人信息保护法第四十七条): the WeChat consumer's only way,
since WeChat has no case-page session. Asked first, then done on the confirmation button.

The cases are erased at once; the conversation itself (the Rasa tracker) is left to the worker,
which erases it a little later: Rasa writes the running conversation back after this turn, so
deleting it from inside the action would not stick.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import channel_of, clock, db_session, off_event_loop

logger = logging.getLogger(__name__)

CONFIRM_PAYLOAD = "/confirm_delete_my_data"
KEPT = "我们只保留不含个人信息的统计记录（平台、问题类型、处理结果和日期），用于服务统计。"


class ActionDeleteMyData(Action):
    """Say what deleting does and ask for the confirmation (a button, not free text)."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(
            text="确认要撤回您的投诉并删除个人信息吗？将删除：您提交的案件内容、联系方式、证据文件和与我们的对话记录；"
                 "正在进行的协商会终止，撤回后不能恢复。" + KEPT,
            buttons=[{"title": "确认删除", "payload": CONFIRM_PAYLOAD}, {"title": "取消", "payload": "/deny"}],
        )
        return [ActiveLoop(None)]  # the intake, if one was running, stops here


class ActionDeleteMyDataConfirmed(Action):
    """Erase every case of this sender and schedule the erasure of the conversation."""

    def name(self) -> str:
        return "action_delete_my_data_confirmed"

    @off_event_loop
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        from disputes.erasure import forget_sender
        from disputes.service import list_cases

        sender, channel = tracker.sender_id, channel_of(tracker.sender_id)
        try:
            with db_session() as db:
                numbers = [c["case_no"] for c in list_cases(db, sender, channel)]
                # the tracker only from the worker: Rasa saves this very turn after the action
                forget_sender(db, sender, numbers, clock=clock(), tracker_url="")
        except Exception:
            logger.exception("erasing a sender's data failed")
            dispatcher.utter_message(text="删除没有成功，请稍后再试，或回复「转人工」由客服为您处理。")
            return []
        done = f"已撤回并删除 {len(numbers)} 个案件的个人信息和证据文件" if numbers else "您没有提交过案件"
        dispatcher.utter_message(text=f"{done}；我们与您的对话记录将在一分钟内删除。{KEPT}")
        return [SlotSet("intake", None), SlotSet("case_id", None)]
