"""Low NLU confidence: consumer-rights questions the intent classifier was not sure about are
answered from the statutes; anything else is re-prompted, and inside the form the form goes on."""

from __future__ import annotations

import asyncio
import re

from rasa_sdk.events import FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionFallback
from knowledge.corpus import parse_article_number, resolve
from tests.actions.conftest import make_tracker

CITATION = re.compile(r"《([^》]+)》第([一二三四五六七八九十百零]+)条")


def fallback(text: str, active_loop: str | None = None, fallback_count: int = 0,
             intent: str = "nlu_fallback") -> tuple[list[dict], list]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"fallback_count": fallback_count}, text=text, intent=intent,
                           active_loop=active_loop)
    events = asyncio.run(ActionFallback().run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_an_unrecognised_consumer_question_is_answered_from_the_statutes() -> None:
    messages, events = fallback("三包期内的商品出了质量问题，可以要求换货吗")
    text = "\n".join(m.get("text") or "" for m in messages)
    cited = CITATION.findall(text)
    assert cited, text
    for law, number in cited:  # every citation shown resolves to a corpus article
        assert resolve(law, parse_article_number(number)) is not None
    assert events == [SlotSet("fallback_count", 0)]
    assert not any(m.get("response") == "utter_default" for m in messages)


def test_noise_is_re_prompted_and_counted() -> None:
    messages, events = fallback("今天天气怎么样，推荐一部电影吧", fallback_count=1)
    assert [m.get("response") for m in messages] == ["utter_default"]
    assert events == [SlotSet("fallback_count", 2)]


def test_inside_the_form_the_form_re_asks() -> None:
    messages, events = fallback("网上买的手机坏了能换吗", active_loop="complaint_form")
    assert [m.get("response") for m in messages] == ["utter_default"]
    assert events == [SlotSet("fallback_count", 1)]


def test_as_the_policies_core_fallback_it_answers_and_reverts_the_message() -> None:
    """NLU was sure (a narrative reads as `inform`) but no policy knew the next step: the
    question is still answered, and the message is taken back out of the dialogue history."""
    messages, events = fallback("快递签收以后才发现东西是坏的，该找谁", intent="inform")
    assert CITATION.search("\n".join(m.get("text") or "" for m in messages))
    assert events == [UserUtteranceReverted(), SlotSet("fallback_count", 0)]

    messages, events = fallback("嗯嗯好的吧", intent="inform")
    assert [m.get("response") for m in messages] == ["utter_default"]
    assert events == [UserUtteranceReverted(), SlotSet("fallback_count", 1)]


def test_an_unrecognised_story_is_answered_for_the_situation_and_starts_the_intake() -> None:
    messages, events = fallback("网上买的手机用了二十天就坏了，能要求换新的吗")
    text = "\n".join(m.get("text") or "" for m in messages)
    assert text.startswith("根据您说的情况") and CITATION.search(text)
    assert events[0] == SlotSet("fallback_count", 0) and events[-1] == FollowupAction("complaint_form")
