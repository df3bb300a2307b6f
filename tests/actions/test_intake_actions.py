"""Tracker-based tests of the intake's Rasa actions: the validation action reads every message
of the loop and names the next question; the ask action renders it; a story told outside the
loop is answered for the consumer's situation and starts the loop."""

from __future__ import annotations

import asyncio

from rasa_sdk.events import FollowupAction, SlotSet

from actions.intake import ActionAskIntakeAnswer, ValidateComplaintForm, story_events
from actions.legal_qa import ActionAnswerLegalQuestion
from knowledge.intake.state import Intake
from tests.actions.conftest import make_tracker

STORY = "我在沙盒商城买的毛衣，11月26号签收的，吊牌没拆，今天申请七天无理由，商家说不给退"


def validate(dispatcher, domain, text: str, intake: dict | None, intent: str = "inform", active: bool = True):
    tracker = make_tracker(
        slots={"intake": intake, "requested_slot": "intake_answer" if active else None},
        text=text, intent=intent, active_loop="complaint_form" if active else None,
    )
    return asyncio.run(ValidateComplaintForm().run(dispatcher, tracker, domain))


def intake_of(events) -> Intake:
    [value] = [e["value"] for e in events if e["event"] == "slot" and e["name"] == "intake"]
    return Intake.from_slot(value)


def test_a_story_outside_the_loop_gets_the_situation_answer_and_starts_the_loop(dispatcher, domain) -> None:
    tracker = make_tracker(text=STORY, intent="ask_seven_day_return")
    events = asyncio.run(ActionAnswerLegalQuestion().run(dispatcher, tracker, domain))
    assert events[-1] == FollowupAction("complaint_form")
    state = intake_of(events)
    assert state.facts["signed_date"] == "2026-11-26" and state.facts["condition"] == "intact"
    [answer] = dispatcher.messages
    assert "可以七日无理由退货" in answer["text"] and "最后一天为2026年12月3日" in answer["text"]
    assert "第十条" in answer["text"]  # the article is quoted


def test_activation_after_a_story_asks_what_negotiation_needs(dispatcher, domain) -> None:
    state = Intake()
    from datetime import date

    from knowledge.intake import conversation

    conversation.begin(state, STORY, date(2026, 11, 28))
    events = validate(dispatcher, domain, STORY, state.to_slot(), active=False)
    assert events[1:] == [SlotSet("intake_answer", None), SlotSet("requested_slot", "intake_answer")]
    assert intake_of(events).asking == "order_id"
    assert dispatcher.messages == []  # the story was answered already


def test_file_complaint_without_a_story_asks_for_the_story(dispatcher, domain) -> None:
    events = validate(dispatcher, domain, "我要投诉", None, intent="file_complaint", active=False)
    assert intake_of(events).asking == "story"
    tracker = make_tracker(slots={"intake": intake_of(events).to_slot()}, active_loop="complaint_form")
    asyncio.run(ActionAskIntakeAnswer().run(dispatcher, tracker, domain))
    assert "请把经过告诉我" in dispatcher.messages[0]["text"]


def test_an_answer_with_an_out_of_scope_intent_is_still_the_answer(dispatcher, domain) -> None:
    state = Intake(story=["在沙盒商城买的耳机不想要了"], answered=["story"], asking="product",
                   facts={"platform": "沙盒商城", "channel": "marketplace"})
    events = validate(dispatcher, domain, "温泉酒店套餐", state.to_slot(), intent="out_of_scope")
    assert intake_of(events).facts["product"] == "温泉酒店套餐"
    assert intake_of(events).facts["service_not_goods"] is True


def test_the_confirmation_shows_the_summary_the_decision_and_the_consent(dispatcher, domain) -> None:
    state = Intake(story=[STORY], answered=["story", "order_id", "phone"], asking="confirm",
                   facts={"platform": "沙盒商城", "channel": "marketplace", "product": "毛衣",
                          "signed_date": "2026-11-26", "condition": "intact", "phone": "13812345678",
                          "return_request_date": "2026-11-28"})
    tracker = make_tracker(slots={"intake": state.to_slot()}, active_loop="complaint_form")
    asyncio.run(ActionAskIntakeAnswer().run(dispatcher, tracker, domain))
    [message] = dispatcher.messages
    assert message["text"].startswith("我理解的情况是：")
    assert "138****5678" in message["text"] and "13812345678" not in message["text"]
    assert "同意" in message["text"] and "可以七日无理由退货" in message["text"]
    assert [b["title"] for b in message["buttons"]] == ["确认无误，同意提交", "先不提交"]


def test_an_unknown_platform_is_told_where_the_claim_goes(dispatcher, domain) -> None:
    state = Intake(story=[STORY], answered=["story", "order_id", "phone"], asking="confirm",
                   facts={"platform": "火星优选", "product": "毛衣", "signed_date": "2026-11-26"})
    tracker = make_tracker(slots={"intake": state.to_slot()}, active_loop="complaint_form")
    asyncio.run(ActionAskIntakeAnswer().run(dispatcher, tracker, domain))
    assert "「火星优选」暂未接入在线协商" in dispatcher.messages[0]["text"]


def test_a_general_question_is_not_a_story(dispatcher, domain) -> None:
    tracker = make_tracker(text="七天无理由退货从哪天开始算", intent="ask_seven_day_return")
    assert story_events(dispatcher, tracker) is None


def test_an_out_of_scope_story_does_not_start_the_intake(dispatcher, domain) -> None:
    tracker = make_tracker(text="朋友借了我两万块说好半年还，现在一年了都不还，还把我拉黑了", intent="inform")
    assert story_events(dispatcher, tracker) is None


def test_a_story_read_as_an_offer_answer_is_taken_as_a_story(dispatcher, domain) -> None:
    from actions.cases import ActionRespondOffer

    tracker = make_tracker(text="商家不接受退货，我11月26号收到的耳机，包装都没拆", intent="reject_offer")
    events = asyncio.run(ActionRespondOffer().run(dispatcher, tracker, domain))
    assert events[-1] == FollowupAction("complaint_form")
    assert intake_of(events).facts["signed_date"] == "2026-11-26"


def test_a_story_read_as_a_request_for_a_human_is_taken_as_a_story(dispatcher, domain) -> None:
    from actions.handoff import ActionHandoff

    story = "某宝买的沙发¥5,800 页面说是头层牛皮 用了俩月掉皮 检测的人说就是PU贴的 商家说可以换 我要退钱加赔"
    events = asyncio.run(ActionHandoff().run(dispatcher, make_tracker(text=story, intent="request_human"), domain))
    assert events[-1] == FollowupAction("complaint_form") and intake_of(events).facts["fraud"] is True


def test_asking_for_a_human_or_deletion_inside_the_intake_leaves_it(dispatcher, domain) -> None:
    """The loop rejects a short request to leave it, so that the rules for it apply."""
    from rasa_sdk.events import ActionExecutionRejected

    intake = Intake(status="open", asking="platform", answered=["story"], story=["买的耳机坏了"]).to_slot()
    for text, intent in (("转人工", "request_human"), ("删除我的个人信息", "delete_my_data"), ("查一下进度", "check_status")):
        events = validate(dispatcher, domain, text, intake, intent=intent)
        assert events == [ActionExecutionRejected("complaint_form")], text
    # a story the classifier took for a request for a human is still read as the answer
    long_story = "在沙盒商城买的耳机坏了，找客服客服不理，商家也不回，我就想找个人工帮我处理一下退款的事情"
    events = validate(dispatcher, domain, long_story, intake, intent="request_human")
    assert any(e["event"] == "slot" and e["name"] == "intake" for e in events)
