"""Legal Q&A: answer with retrieved, verbatim statute text (never generated legal text)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import off_event_loop

logger = logging.getLogger(__name__)

# Map Rasa intents to the answer composer's topics so the right templates and priors apply.
INTENT_TOPICS = {
    "ask_seven_day_return": "seven_day_return",
    "ask_compensation_first": "platform_liability",
    "ask_punitive_damages": "fraud_punitive",
}


def _warm_up() -> None:
    """Load the index and model once at start-up, not on the first consumer's question."""
    try:
        from knowledge.search import get_searcher

        get_searcher()
    except Exception:  # pragma: no cover - logged, the first request retries
        logger.exception("retrieval warm-up failed")


# Only in a serving process: the action server (Sanic's worker manager) imports this module in
# its supervising process too, where a loaded index would only hold ~1 GB and compete for CPU.
if os.environ.get("SANIC_WORKER_NAME"):
    threading.Thread(target=_warm_up, name="retrieval-warm-up", daemon=True).start()


def answer_legal_question(dispatcher: CollectingDispatcher, tracker: Tracker, topic: str | None = None,
                          *, decline_out_of_scope: bool = True) -> bool:
    """Answer the latest message from the statutes; False (nothing sent) when the question is
    out of scope and `decline_out_of_scope` is off (the caller then says something else)."""
    from knowledge.answer import compose_answer

    question = tracker.latest_message.get("text") or ""
    answer = compose_answer(question, topic=topic)
    if answer.out_of_scope and not decline_out_of_scope:
        return False
    dispatcher.utter_message(text=answer.text)
    if not answer.confident and not answer.out_of_scope and tracker.active_loop_name is None:
        dispatcher.utter_message(
            text="如果需要，我可以帮您登记投诉并代您与平台协商。",
            buttons=[
                {"title": "我要投诉", "payload": "我要投诉"},
                {"title": "转人工", "payload": "转人工"},
            ],
        )
    return True


class ActionAnswerLegalQuestion(Action):
    """A question, or a story: the consumer's own dispute gets the answer for their situation and
    starts the intake; anything else is answered from the statutes."""

    def name(self) -> str:
        return "action_answer_legal_question"

    @off_event_loop
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        from actions.intake import story_events

        story = story_events(dispatcher, tracker)
        if story is not None:
            return story
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        answer_legal_question(dispatcher, tracker, INTENT_TOPICS.get(intent))
        return []
