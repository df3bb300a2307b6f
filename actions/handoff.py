"""Hand-off to the platform's human service desk (request_human, repeated fallbacks)."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import channel_of, clock, db_session, off_event_loop

logger = logging.getLogger(__name__)

MAX_FALLBACKS = 2
HUMAN_ASKED = re.compile(r"(人工|真人|转接|找个人|活人|客服介入|接线员)")


def _record_handoff(tracker: Tracker, reason: str) -> dict[str, Any]:
    """The hand-off on the case the conversation is about, if it is the sender's own, else on the
    sender's own conversation. The `case_id` slot can come from what the consumer typed: only a
    case number is taken from it, and the case service checks that it belongs to the sender (the
    tracker's sender id, which the consumer cannot set)."""
    from disputes.service import CASE_NO_RE, CaseAccessError, record_handoff

    sender, channel = tracker.sender_id, channel_of(tracker.sender_id)
    named = tracker.get_slot("case_id")
    if isinstance(named, str) and CASE_NO_RE.match(named.strip()):
        try:
            with db_session() as db:
                return record_handoff(db, named.strip(), reason, clock(), channel=channel, sender_id=sender)
        except CaseAccessError:
            logger.warning("hand-off: case named in the conversation is not the sender's own")
    with db_session() as db:
        return record_handoff(db, sender, reason, clock(), channel=channel, sender_id=sender)


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[dict[str, Any]]:
    result: dict[str, Any] = {}
    try:
        result = _record_handoff(tracker, reason)
    except Exception:  # the consumer still reaches a human even if the case store is down
        logger.exception("recording the hand-off failed")
    # While the desk holds the conversation the web tier routes the consumer's messages to it
    # (web/relay.py), which pauses the bot for this conversation without pausing Rasa's tracker.
    if result.get("case_no"):
        dispatcher.utter_message(text=result["message"] + "\n之后您发的消息会直接转给人工客服；回复「返回机器人」可切回智能助手。")
    elif result:
        dispatcher.utter_message(text=result["message"])
    else:
        dispatcher.utter_message(response="utter_handoff")
    events: list[dict[str, Any]] = [SlotSet("fallback_count", 0)]
    if tracker.active_loop_name:
        events.append(ActiveLoop(None))
    return events


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    @off_event_loop
    def run(self, dispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if tracker.active_loop_name is None and not HUMAN_ASKED.search(text):
            # a long story the classifier took for a request for a human (「…我要退钱加赔」)
            from actions.intake import story_events

            story = story_events(dispatcher, tracker)
            if story is not None:
                return story
        return hand_off(dispatcher, tracker, "消费者要求转人工")


class ActionFallback(Action):
    """Low NLU confidence. Outside the complaint form, a message the knowledge base's scope
    classifier recognises as a consumer-rights question is answered from the statutes (the
    intent classifier only knows the topics it was trained on; the retriever knows the whole
    corpus and says itself when it is unsure). Otherwise re-prompt, and after repeated misses
    hand off to a human."""

    def name(self) -> str:
        return "action_fallback"

    @off_event_loop
    def run(self, dispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        # Run by the nlu_fallback rules, or by the dialogue policies as their core fallback (the
        # intent was clear but no policy knew what to do next). In the latter case the message is
        # reverted, as Rasa's own default fallback does, so it does not shape later predictions.
        revert: list[dict[str, Any]] = []
        if (tracker.latest_message.get("intent") or {}).get("name") != "nlu_fallback":
            revert = [UserUtteranceReverted()]
        if tracker.active_loop_name is None and (tracker.latest_message.get("text") or "").strip():
            from actions.intake import story_events
            from actions.legal_qa import answer_legal_question

            story = story_events(dispatcher, tracker)
            if story is not None:
                return [SlotSet("fallback_count", 0), *story]  # kept: the intake reads this message

            try:
                if answer_legal_question(dispatcher, tracker, decline_out_of_scope=False):
                    return [*revert, SlotSet("fallback_count", 0)]
            except Exception:  # the re-prompt below still helps the consumer
                logger.exception("fallback: retrieval failed")
        count = int(tracker.get_slot("fallback_count") or 0) + 1
        if count > MAX_FALLBACKS:
            return [*revert, *hand_off(dispatcher, tracker, "多次未能理解消费者的问题")]
        dispatcher.utter_message(response="utter_default")
        return [*revert, SlotSet("fallback_count", count)]
