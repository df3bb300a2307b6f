"""Rasa glue of the story-first intake (the `complaint_form` loop).

The form has one slot, `intake_answer`; what is asked and how an answer is read is decided by
knowledge.intake from the facts so far (slot `intake`), so the validation action takes every
message of the loop, whatever intent the NLU gave it: an answer is an answer even when it looks
like a question. Stopping and asking for a human interrupt the loop through the rules.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import off_event_loop, today
from knowledge.intake import conversation
from knowledge.intake.reader import read_story
from knowledge.intake.state import Intake

logger = logging.getLogger(__name__)

FORM = "complaint_form"
ANSWER_SLOT = "intake_answer"
# Requests that leave the intake rather than answer it: the loop rejects the message so that the
# rules for them apply (bot/data/rules). Only short messages: a long story the classifier took
# for one of these is still an answer.
INTERRUPTING_INTENTS = frozenset({"request_human", "delete_my_data", "check_status"})
INTERRUPT_CONFIDENCE = 0.8
INTERRUPT_MAX_CHARS = 30


def interrupts(tracker: Tracker, text: str) -> bool:
    intent = tracker.latest_message.get("intent") or {}
    return (intent.get("name") in INTERRUPTING_INTENTS and float(intent.get("confidence") or 0) >= INTERRUPT_CONFIDENCE
            and len(text) <= INTERRUPT_MAX_CHARS)


def load(tracker: Tracker) -> Intake:
    return Intake.from_slot(tracker.get_slot("intake"))


def route_note(platform: str | None) -> str | None:
    """Where the claim goes, said at the confirmation: an online connector needs no note; a
    platform served through the service desk, or one we do not know, is said so."""
    from disputes.config import load_platforms

    cfg = load_platforms().match(platform)
    name = platform or "该平台"
    if cfg is not None and cfg.connector == "webhook":
        return None
    if cfg is not None:
        return f"提交后，投诉会进入「{name}」在本服务台的人工处理队列，由平台客服答复。"
    return (f"「{name}」暂未接入在线协商：提交后由我们的人工客服跟进；协商不成，可为您生成"
            "可直接提交12315的投诉材料。")


def send(dispatcher: CollectingDispatcher, message: dict[str, Any]) -> None:
    dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [])


def legal_answer(text: str) -> dict[str, Any] | None:
    """A general legal question asked in the middle of the intake, answered from the statutes."""
    from knowledge.answer import compose_answer

    try:
        answer = compose_answer(text)
    except Exception:  # the intake goes on even if retrieval fails
        logger.exception("retrieval inside the intake failed")
        return None
    return {"text": answer.text}


class ValidateComplaintForm(Action):
    """Every message of the loop: read it, answer what was asked, choose the next question."""

    def name(self) -> str:
        return "validate_complaint_form"

    @off_event_loop
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        state = load(tracker)
        text = (tracker.latest_message.get("text") or "").strip()
        day = today()
        if tracker.active_loop_name != FORM:
            # activation: by 「我要投诉」 (possibly with a story), or after a story was answered
            if text and text not in state.story:  # 「我要投诉，…」 told with the request itself
                reading = read_story(text, day)
                if reading.case_facts:
                    for message in conversation.begin(state, text, day, reading):
                        send(dispatcher, message)
            state.status = "open"
            state.asking = state.next_question(day)
        elif interrupts(tracker, text):
            return [ActionExecutionRejected(FORM)]
        else:
            for message in conversation.advance(state, text, day, answer_question=legal_answer):
                send(dispatcher, message)
        return [
            SlotSet("intake", state.to_slot()),
            SlotSet(ANSWER_SLOT, None),
            SlotSet("requested_slot", ANSWER_SLOT if state.asking else None),
        ]


class ActionAskIntakeAnswer(Action):
    """The question the intake is asking now, with its quick replies."""

    def name(self) -> str:
        return "action_ask_intake_answer"

    @off_event_loop
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        state = load(tracker)
        if state.asking is None:
            return []
        note = route_note(state.facts.get("platform")) if state.asking == "confirm" else None
        send(dispatcher, conversation.question(state, today(), note))
        return []


def in_scope(text: str) -> bool:
    """The statutes' scope classifier agrees that the message is about a consumer dispute (a
    story about a loan or a school exercise can carry a date and an amount too)."""
    try:
        from knowledge.search import get_searcher

        return bool(get_searcher("hybrid").is_in_scope(text)[0])
    except Exception:  # without the index the reader's judgement stands
        logger.exception("scope check failed")
        return True


def story_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """Outside the intake, a message that tells the consumer's own dispute is answered for their
    situation (the decision on what they said) and starts the intake; None for anything else."""
    if tracker.active_loop_name:
        return None
    text = (tracker.latest_message.get("text") or "").strip()
    if not text:
        return None
    day = today()
    reading = read_story(text, day)
    strength = conversation.story_strength(reading, text)
    if strength is None or (strength == "weak" and not in_scope(text)):
        return None
    state = load(tracker)
    if state.status != "open":
        state = Intake()
    messages = conversation.begin(state, text, day, reading)
    if not messages:  # the story decides nothing yet: the law that applies, from the statutes
        message = legal_answer(text)
        messages = [message] if message else []
    for message in messages:
        send(dispatcher, message)
    return [SlotSet("intake", state.to_slot()), FollowupAction(FORM)]
