"""Validation of the complaint form: normalise every answer, re-ask with a hint, accept
corrections of earlier answers, and give up gracefully after repeated failures."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.parsing import OPTIONAL_SLOTS, SlotError, detect_correction, parse_slot
from actions.runtime import today
from web.privacy import mask_text

logger = logging.getLogger(__name__)

MAX_FAILURES = 3


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        requested = tracker.get_slot("requested_slot")
        correction = detect_correction(text, requested, _filled(tracker))
        if correction is not None:
            return self._apply_correction(correction, text, requested, dispatcher)
        events: list[EventType] = []
        for slot, value in tracker.slots_to_validate().items():
            if slot not in domain.get("forms", {}).get("complaint_form", {}).get("required_slots", []):
                continue
            events += self._validate(slot, value, dispatcher, tracker)
        return events

    def _validate(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        failures = dict(tracker.get_slot("slot_failures") or {})
        try:
            parsed = parse_slot(slot, value, today())
        except SlotError as exc:
            failures[slot] = failures.get(slot, 0) + 1
            logger.info("slot %s rejected (%d): %s", slot, failures[slot], mask_text(str(value)))
            if failures[slot] >= MAX_FAILURES and slot in OPTIONAL_SLOTS:
                dispatcher.utter_message(text="这一项先跳过，之后可以补充。")
                return [SlotSet(slot, OPTIONAL_SLOTS[slot]), SlotSet("slot_failures", failures)]
            if failures[slot] >= MAX_FAILURES:
                dispatcher.utter_message(
                    text=f"{exc.message}\n如果不方便回答，可以说「转人工」由客服协助，或说「算了」结束登记。"
                )
            else:
                dispatcher.utter_message(text=exc.message)
            return [SlotSet(slot, None), SlotSet("slot_failures", failures)]
        failures.pop(slot, None)
        return [SlotSet(slot, parsed), SlotSet("slot_failures", failures)]

    def _apply_correction(
        self, correction: tuple[str, str], text: str, requested: str | None, dispatcher: CollectingDispatcher
    ) -> list[EventType]:
        slot, raw = correction
        events: list[EventType] = []
        if requested and requested != slot:
            events.append(SlotSet(requested, None))  # the text was a correction, not this answer
        try:
            value = parse_slot(slot, raw, today())
        except SlotError as exc:
            dispatcher.utter_message(text=f"想更正的内容没能识别：{exc.message}")
            return events
        dispatcher.utter_message(text=f"好的，已更正{SLOT_LABELS.get(slot, slot)}为：{display(slot, value)}")
        return [*events, SlotSet(slot, value)]


SLOT_LABELS = {
    "platform": "平台", "shop": "店铺", "order_id": "订单号", "product": "商品", "amount": "实付金额",
    "order_date": "下单日期", "signed_date": "签收日期", "problem": "问题类型", "description": "经过",
    "desired_remedy": "诉求", "phone": "联系电话",
}


def display(slot: str, value: Any) -> str:
    from knowledge.normalize import mask_phone

    if slot == "phone" and value:
        return mask_phone(value)
    if slot == "amount":
        return f"{value}元"
    return str(value)


def _filled(tracker: Tracker) -> set[str]:
    return {s for s in SLOT_LABELS if tracker.get_slot(s) not in (None, "")}
